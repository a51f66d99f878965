import Foundation
import LLMQTesting
import Testing

@testable import LLMQCore

@Suite("ChunkEvent")
struct ChunkEventTests {
    private func event(_ kind: ChunkEvent.Kind, seq: Int = 1, jobID: String = "job-42", streamID: String = "w7-3-1187-1") -> ChunkEvent {
        ChunkEvent(jobID: jobID, streamID: streamID, attempt: 1, seq: seq, kind: kind)
    }

    private func text(_ event: ChunkEvent) -> String {
        String(decoding: event.encoded(), as: UTF8.self)
    }

    /// Parses with Foundation's own JSON reader: an independent check that the hand-written bytes are JSON.
    private func object(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(bytes))
        return try #require(value as? [String: Any], sourceLocation: sourceLocation)
    }

    // MARK: the wire shape (DESIGN.md, "Chunk event")

    @Test func designExamplesByteForByte() {
        #expect(text(event(.start, seq: 0)) == #"{"job_id":"job-42","stream_id":"w7-3-1187-1","attempt":1,"seq":0,"type":"start"}"#)
        #expect(text(event(.delta("Hel"))) == #"{"job_id":"job-42","stream_id":"w7-3-1187-1","attempt":1,"seq":1,"type":"delta","delta":"Hel"}"#)
        #expect(text(event(.abort(reason: "stream interrupted", retrying: true), seq: 5))
            == #"{"job_id":"job-42","stream_id":"w7-3-1187-1","attempt":1,"seq":5,"type":"abort","reason":"stream interrupted","retrying":true}"#)
        let end = ChunkEvent(jobID: "job-42", streamID: "w7-3-1187-2", attempt: 2, seq: 9, kind: .end(finishReason: "stop"))
        #expect(text(end) == #"{"job_id":"job-42","stream_id":"w7-3-1187-2","attempt":2,"seq":9,"type":"end","finish_reason":"stop","events":10}"#)
    }

    @Test func endWithoutFinishReasonAndAbortNotRetrying() {
        #expect(text(event(.end(finishReason: nil), seq: 3)) == #"{"job_id":"job-42","stream_id":"w7-3-1187-1","attempt":1,"seq":3,"type":"end","events":4}"#)
        #expect(text(event(.abort(reason: "", retrying: false), seq: 3))
            == #"{"job_id":"job-42","stream_id":"w7-3-1187-1","attempt":1,"seq":3,"type":"abort","reason":"","retrying":false}"#)
    }

    @Test(arguments: [
        (ChunkEvent.Kind.start, ["job_id", "stream_id", "attempt", "seq", "type"]),
        (.delta("x"), ["job_id", "stream_id", "attempt", "seq", "type", "delta"]),
        (.end(finishReason: "length"), ["job_id", "stream_id", "attempt", "seq", "type", "finish_reason", "events"]),
        (.abort(reason: "r", retrying: false), ["job_id", "stream_id", "attempt", "seq", "type", "reason", "retrying"]),
    ])
    func fieldsAndTypesPerKind(kind: ChunkEvent.Kind, keys: [String]) throws {
        let value = event(kind, seq: 7)
        let object = try object(value.encoded())
        #expect(Set(object.keys) == Set(keys))
        #expect(object["job_id"] as? String == "job-42")
        #expect(object["stream_id"] as? String == "w7-3-1187-1")
        #expect(object["attempt"] as? Int == 1)
        #expect(object["seq"] as? Int == 7)
        #expect(object["type"] as? String == value.typeName)
        if case .abort = kind { #expect(object["retrying"] is Bool) }
    }

    @Test func typeNames() {
        #expect(event(.start).typeName == "start")
        #expect(event(.delta("")).typeName == "delta")
        #expect(event(.end(finishReason: nil)).typeName == "end")
        #expect(event(.abort(reason: "", retrying: true)).typeName == "abort")
    }

    // MARK: escaping

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        let delta = "a\"b\\c\nd\re\tf\u{0}g\u{1}h\u{8}i\u{C}j\u{1F}k\u{7F}l/"
        // As JSONEncoder writes them: short forms for \b and \f too, lowercase hex, `/` and DEL as they are.
        let expected = #"a\"b\\c\nd\re\tf\u0000g\u0001h\bi\fj\u001fk"# + "\u{7F}l/"
        #expect(text(event(.delta(delta))) == #"{"job_id":"job-42","stream_id":"w7-3-1187-1","attempt":1,"seq":1,"type":"delta","delta":""# + expected + #""}"#)
    }

    @Test func nonASCIIIsWrittenAsUTF8() {
        let delta = "你好，世界 😀👩‍👩‍👧 é \u{2028}\u{2029} \u{FFFD}"
        let bytes = event(.delta(delta)).encoded()
        let tail = #","type":"delta","delta":""#
        #expect(String(decoding: bytes, as: UTF8.self).hasSuffix(tail + delta + #""}"#))
        #expect(bytes.count == #"{"job_id":"job-42","stream_id":"w7-3-1187-1","attempt":1,"seq":1"#.utf8.count + tail.utf8.count + delta.utf8.count + 2)
    }

    @Test(arguments: [
        "", "\"", "\\", "\\\"", "\"\\", "\n", "\r\n", "\t", "\u{0}", "\u{1F}", "😀", "中文", "a\"b", "\\n", "}{", "\",\"seq\":99,\"x\":\"",
        "ends with backslash \\", String(repeating: "\"\\\n", count: 1_000), String(repeating: "长", count: 10_000),
    ])
    func escapedDeltaIsValidJSONAndRoundTrips(delta: String) throws {
        let value = event(.delta(delta))
        let object = try object(value.encoded())
        #expect(object["delta"] as? String == delta)
        #expect(object["seq"] as? Int == 1)
        #expect(ChunkEvent.decode(value.encoded()) == value)
    }

    @Test func idsAndReasonsAreEscapedToo() throws {
        let value = ChunkEvent(jobID: "job \"1\"\n", streamID: "s\\1\t😀", attempt: 3, seq: 12,
                               kind: .abort(reason: "HTTP 503: \"busy\"\n\\", retrying: true))
        let object = try object(value.encoded())
        #expect(object["job_id"] as? String == "job \"1\"\n")
        #expect(object["stream_id"] as? String == "s\\1\t😀")
        #expect(object["reason"] as? String == "HTTP 503: \"busy\"\n\\")
        #expect(ChunkEvent.decode(value.encoded()) == value)
    }

    // MARK: round trips

    @Test(arguments: [
        ChunkEvent.Kind.start, .delta("Hel"), .delta(""), .end(finishReason: "stop"), .end(finishReason: "content_filter"),
        .end(finishReason: nil), .abort(reason: "stream interrupted", retrying: true), .abort(reason: "quota", retrying: false),
    ])
    func roundTripEveryKind(kind: ChunkEvent.Kind) {
        let value = ChunkEvent(jobID: "job-42", streamID: "w7-3-1187-2", attempt: 2, seq: 9, kind: kind)
        #expect(ChunkEvent.decode(value.encoded()) == value)
    }

    @Test func roundTripExtremeNumbers() {
        for (attempt, seq) in [(0, 0), (Int.max, Int.max), (-1, Int.min)] {
            let value = ChunkEvent(jobID: "j", streamID: "s", attempt: attempt, seq: seq, kind: .start)
            #expect(ChunkEvent.decode(value.encoded()) == value)
        }
    }

    /// Random strings over every interesting range of Unicode: the writer's escaping and JSONDecoder agree.
    @Test func roundTripRandomStrings() throws {
        var rng = SeededRandom(seed: 42)
        let ranges: [ClosedRange<UInt32>] = [0x00...0x1F, 0x20...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFD, 0x1_0000...0x10_FFFF]
        func randomString() -> String {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                let range = ranges.randomElement(using: &rng)!
                let special: [UInt32] = [0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x00, 0x2F]
                let value = Bool.random(using: &rng) ? special.randomElement(using: &rng)! : UInt32.random(in: range, using: &rng)
                scalars.append(Unicode.Scalar(value)!)
            }
            return String(scalars)
        }
        for _ in 0..<2_000 {
            let kind: ChunkEvent.Kind
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: kind = .start
            case 1: kind = .delta(randomString())
            case 2: kind = .end(finishReason: Bool.random(using: &rng) ? randomString() : nil)
            default: kind = .abort(reason: randomString(), retrying: Bool.random(using: &rng))
            }
            let value = ChunkEvent(jobID: randomString(), streamID: randomString(), attempt: Int.random(in: 1...10, using: &rng),
                                   seq: Int.random(in: 0...1_000_000, using: &rng), kind: kind)
            let bytes = value.encoded()
            #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(bytes)) }
            #expect(ChunkEvent.decode(bytes) == value)
        }
    }

    // MARK: decode

    @Test(arguments: [
        "", "{}", "null", "[]", "not json",
        #"{"job_id":"j","stream_id":"s","attempt":1,"seq":0,"type":"begin"}"#,
        #"{"job_id":"j","stream_id":"s","attempt":1,"seq":0}"#,
        #"{"stream_id":"s","attempt":1,"seq":0,"type":"start"}"#,
        #"{"job_id":"j","attempt":1,"seq":0,"type":"start"}"#,
        #"{"job_id":"j","stream_id":"s","seq":0,"type":"start"}"#,
        #"{"job_id":"j","stream_id":"s","attempt":1,"type":"start"}"#,
        #"{"job_id":"j","stream_id":"s","attempt":"1","seq":0,"type":"start"}"#,
        #"{"job_id":7,"stream_id":"s","attempt":1,"seq":0,"type":"start"}"#,
        #"{"job_id":"j","stream_id":"s","attempt":1,"seq":0,"type":"delta","delta":5}"#,
    ])
    func decodeRejectsWhatIsNotAChunkEvent(text: String) {
        #expect(ChunkEvent.decode(Array(text.utf8)) == nil)
    }

    @Test func decodeToleratesKeyOrderWhitespaceAndExtraKeys() {
        let text = #" { "type" : "delta", "delta": "x", "seq": 4, "attempt": 2, "stream_id": "s", "job_id": "j", "future": [1] } "#
        #expect(ChunkEvent.decode(Array(text.utf8)) == ChunkEvent(jobID: "j", streamID: "s", attempt: 2, seq: 4, kind: .delta("x")))
    }
}

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test func emptyObject() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.endObject()
        #expect(writer.bytes == Array("{}".utf8))
    }

    @Test func commasBetweenMembersAndNestedObjects() throws {
        var writer = JSONWriter(capacity: 4)
        writer.beginObject()
        writer.string("a", "x")
        writer.key("o")
        writer.beginObject()
        writer.int("n", -5)
        writer.int("big", UInt64.max)
        writer.endObject()
        writer.key("e")
        writer.beginObject()
        writer.endObject()
        writer.bool("t", true)
        writer.bool("f", false)
        writer.key("r")
        writer.rawJSON("[1,null]")
        writer.string("s", "")
        writer.endObject()
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text == #"{"a":"x","o":{"n":-5,"big":18446744073709551615},"e":{},"t":true,"f":false,"r":[1,null],"s":""}"#)
        #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(writer.bytes)) }
    }

    @Test func everyControlCharacterIsEscaped() throws {
        let all = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) }))
        var writer = JSONWriter()
        writer.beginObject()
        writer.string("c", all)
        writer.endObject()
        #expect(!writer.bytes.contains { $0 < 0x20 })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: String])
        #expect(object["c"] == all)
    }

    @Test func stringsWithEscapesAtBothEnds() {
        var writer = JSONWriter()
        writer.string("\"mid\"")
        #expect(writer.bytes == Array(#""\"mid\"""#.utf8))
    }
}
