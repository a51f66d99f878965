import NIOCore
import Testing

@testable import LLMQProviders

@Suite("SSEParser")
struct SSEParserTests {
    /// Feeds `chunks` one by one and collects every event.
    private func parse(_ chunks: [ArraySlice<UInt8>]) -> [SSEEvent] {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for chunk in chunks {
            parser.append(ByteBuffer(bytes: chunk))
            while let event = parser.next() { events.append(event) }
        }
        return events
    }

    private func parse(_ text: String) -> [SSEEvent] {
        self.parse([ArraySlice(Array(text.utf8))])
    }

    @Test func singleEvent() {
        #expect(self.parse("data: hello\n\n") == [SSEEvent(data: "hello")])
    }

    @Test func multiLineDataIsJoinedWithNewline() {
        #expect(self.parse("data: a\ndata: b\ndata:\n\n").map(\.data) == ["a\nb\n"])
    }

    @Test func commentsAndUnknownFieldsAreIgnored() {
        #expect(self.parse(": keep-alive\nfoo: bar\ndata: x\n: more\n\n") == [SSEEvent(data: "x")])
    }

    @Test func eventIdAndRetryFields() {
        let events = self.parse("event: delta\nid: 7\nretry: 1500\ndata: x\n\ndata: y\n\nretry: soon\nid\ndata: z\n\n")
        #expect(events == [
            SSEEvent(event: "delta", data: "x", id: "7", retry: 1500),
            SSEEvent(event: nil, data: "y", id: "7", retry: 1500),
            SSEEvent(event: nil, data: "z", id: "", retry: 1500),
        ])
    }

    @Test func fieldValueSpacing() {
        #expect(self.parse("data:x\n\ndata:  x\n\ndata\n\n").map(\.data) == ["x", " x", ""])
    }

    @Test func eventWithoutDataIsNotDispatched() {
        #expect(self.parse("event: ping\n\ndata: after\n\n") == [SSEEvent(data: "after")])
    }

    @Test func lineEndingsCRLFAndCRAndLF() {
        let events = self.parse("data: a\r\rdata: b\n\ndata: c\r\n\r\ndata: d\r\ndata: e\n\r\n")
        #expect(events.map(\.data) == ["a", "b", "c", "d\ne"])
    }

    @Test func crAtEndOfChunkThenLFAtStartOfNext() {
        let events = self.parse([ArraySlice("data: a\r".utf8), ArraySlice("\ndata: b\r".utf8), ArraySlice("\n\r".utf8), ArraySlice("\n".utf8)])
        #expect(events.map(\.data) == ["a\nb"])
    }

    @Test func byteOrderMarkOnlyAtStreamStart() {
        #expect(self.parse("\u{FEFF}data: x\n\n\u{FEFF}data: y\n\n").map(\.data) == ["x"])
        // A BOM split over reads.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let events = self.parse([ArraySlice(bom[0..<1]), ArraySlice(bom[1..<3]), ArraySlice("data: z\n\n".utf8)])
        #expect(events.map(\.data) == ["z"])
    }

    @Test func incompleteEventAtEndIsNotDispatched() {
        var parser = SSEParser()
        parser.append(ByteBuffer(string: "data: done\n\ndata: partial\n"))
        #expect(parser.next()?.data == "done")
        #expect(parser.next() == nil)
        #expect(parser.hasPartialEvent)
    }

    static let tricky = "\u{FEFF}: c\r\nevent: e\rdata: 日本語🙂\r\ndata: naïve \"q\"\n\rid: 1\n\ndata: [DONE]\r\n\r\n"

    @Test func splitAtEveryBytePosition() {
        let bytes = Array(Self.tricky.utf8)
        let expected = self.parse(Self.tricky)
        #expect(expected == [SSEEvent(event: "e", data: "日本語🙂\nnaïve \"q\""), SSEEvent(data: "[DONE]", id: "1")])
        for cut in 0...bytes.count {
            #expect(self.parse([bytes[0..<cut], bytes[cut...]]) == expected, "split at \(cut)")
        }
    }

    @Test func splitAtEveryPairOfPositions() {
        let bytes = Array(Self.tricky.utf8)
        let expected = self.parse(Self.tricky)
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let events = self.parse([bytes[0..<first], bytes[first..<second], bytes[second...]])
                #expect(events == expected, "split at \(first), \(second)")
            }
        }
    }

    @Test func oneByteAtATime() {
        let bytes = Array(Self.tricky.utf8)
        #expect(self.parse(bytes.indices.map { bytes[$0...$0] }) == self.parse(Self.tricky))
    }
}
