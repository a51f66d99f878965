import Foundation
import LLMQTesting
import Testing

@testable import LLMQCore


@Suite("JobParser")
struct JobParserTests {
    /// Every kind a parse failure may have (DESIGN.md: `error.kind` of an `invalid` result).
    static let kinds: Set<String> = ["too_large", "malformed_json", "invalid_job", "missing_id", "invalid_field"]

    private func parse(_ text: String, maxJobBytes: Int = 1 << 20) -> Result<Job, JobValidationError> {
        JobParser(maxJobBytes: maxJobBytes).parse(Array(text.utf8))
    }

    private func job(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Job {
        switch parse(text) {
        case .success(let job): return job
        case .failure(let error):
            Issue.record("expected a job, got \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    private func failure(_ bytes: [UInt8], maxJobBytes: Int = 1 << 20) -> JobValidationError? {
        if case .failure(let error) = JobParser(maxJobBytes: maxJobBytes).parse(bytes) { return error }
        return nil
    }

    private func failure(_ text: String, maxJobBytes: Int = 1 << 20) -> JobValidationError? {
        failure(Array(text.utf8), maxJobBytes: maxJobBytes)
    }

    // MARK: accepted jobs

    @Test func designExampleJob() throws {
        let job = try job("""
            {"id": "job-42",
             "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
             "model": "ernie-4.0",
             "params": {"max_tokens": 512, "temperature": 0.7, "top_p": 0.9, "stop": ["\\n\\n"]},
             "stream": true,
             "deadline": "2026-11-25T10:00:00Z",
             "metadata": {"anything": "echoed back"}}
            """)
        #expect(job.id == "job-42")
        #expect(job.messages == [JobMessage(role: "system", content: "be brief"), JobMessage(role: "user", content: "hi")])
        #expect(job.model == "ernie-4.0")
        #expect(job.params == JobParams(maxTokens: 512, temperature: 0.7, topP: 0.9, stop: ["\n\n"]))
        #expect(job.stream == true)
        #expect(job.deadline == Date(timeIntervalSince1970: 1_795_600_800))
        #expect(job.metadata == .object(["anything": .string("echoed back")]))
    }

    @Test func minimalJobHasDefaults() throws {
        let job = try job(#"{"id": "a", "messages": [{"role": "user", "content": "hi"}]}"#)
        #expect(job == Job(id: "a", messages: [JobMessage(role: "user", content: "hi")]))
        #expect(job.stream == true)
        #expect(job.model == nil)
        #expect(job.params == JobParams())
        #expect(job.deadline == nil)
        #expect(job.metadata == nil)
    }

    @Test func promptIsOneUserMessage() throws {
        let job = try job(#"{"id": "a", "prompt": "Tell me a joke"}"#)
        #expect(job.messages == [JobMessage(role: "user", content: "Tell me a joke")])
    }

    @Test(arguments: ["system", "user", "assistant"])
    func everyRoleIsAccepted(role: String) throws {
        let job = try job(#"{"id": "a", "messages": [{"role": "\#(role)", "content": "x"}]}"#)
        #expect(job.messages.first?.role == role)
    }

    @Test func streamFalseAndNullOptionalsAreAccepted() throws {
        let job = try job(#"{"id": "a", "prompt": "x", "stream": false, "model": null, "deadline": null, "params": null}"#)
        #expect(job.stream == false)
        #expect(job.model == nil)
        #expect(job.deadline == nil)
        #expect(job.params == JobParams())
    }

    @Test func contentKeepsEscapesEmojiAndCJK() throws {
        let job = try job(#"{"id": "ид-1", "prompt": "line1\nline2 \"q\" \\ \u00e9 😀 你好 \ud83d\ude00"}"#)
        #expect(job.id == "ид-1")
        #expect(job.messages.first?.content == "line1\nline2 \"q\" \\ é 😀 你好 😀")
    }

    @Test(arguments: [
        ("2026-11-25T10:00:00Z", 1_795_600_800.0),
        ("2026-11-25T10:00:00.250Z", 1_795_600_800.25),
        ("2026-11-25T12:00:00+02:00", 1_795_600_800.0),
        ("2026-11-25T10:00:00-00:00", 1_795_600_800.0),
    ])
    func rfc3339Deadlines(text: String, epoch: Double) throws {
        let job = try job(#"{"id": "a", "prompt": "x", "deadline": "\#(text)"}"#)
        let deadline = try #require(job.deadline)
        #expect(abs(deadline.timeIntervalSince1970 - epoch) < 0.001)
    }

    @Test func metadataIsKeptVerbatim() throws {
        let job = try job(#"{"id": "a", "prompt": "x", "metadata": {"n": 1.5, "b": false, "z": null, "l": [1, "two", {"k": []}]}}"#)
        #expect(job.metadata == .object([
            "n": .number(1.5), "b": .bool(false), "z": .null,
            "l": .array([.number(1), .string("two"), .object(["k": .array([])])]),
        ]))
    }

    @Test func paramsAtTheirBounds() throws {
        let low = try job(#"{"id": "a", "prompt": "x", "params": {"max_tokens": 1, "temperature": 0, "top_p": 1e-9, "stop": []}}"#)
        #expect(low.params == JobParams(maxTokens: 1, temperature: 0, topP: 1e-9, stop: []))
        let high = try job(#"{"id": "a", "prompt": "x", "params": {"max_tokens": 1000000, "temperature": 2, "top_p": 1, "stop": ["a", "b", "c", "d"]}}"#)
        #expect(high.params == JobParams(maxTokens: 1_000_000, temperature: 2, topP: 1, stop: ["a", "b", "c", "d"]))
    }

    @Test func stopAsOneString() throws {
        let job = try job(#"{"id": "a", "prompt": "x", "params": {"stop": "END"}}"#)
        #expect(job.params.stop == ["END"])
    }

    @Test func nullParamIsIgnored() throws {
        let job = try job(#"{"id": "a", "prompt": "x", "params": {"max_tokens": null, "temperature": 1}}"#)
        #expect(job.params == JobParams(temperature: 1))
    }

    // MARK: the id

    @Test func missingIDHasNoJobID() throws {
        let error = try #require(failure(#"{"prompt": "x"}"#))
        #expect(error.kind == "missing_id")
        #expect(error.jobID == nil)
    }

    @Test(arguments: [#""""#, "42", "null", "true", #"["a"]"#, #"{"a": 1}"#])
    func idMustBeANonEmptyString(id: String) throws {
        let error = try #require(failure(#"{"id": \#(id), "prompt": "x"}"#))
        #expect(error.kind == "missing_id")
        #expect(error.jobID == nil)
    }

    @Test func idOf256BytesIsAcceptedAnd257Rejected() throws {
        let ascii = String(repeating: "a", count: 256)
        #expect(try job(#"{"id": "\#(ascii)", "prompt": "x"}"#).id == ascii)
        let twoByte = String(repeating: "é", count: 128)  // 256 UTF-8 bytes, 128 characters
        #expect(try job(#"{"id": "\#(twoByte)", "prompt": "x"}"#).id == twoByte)

        let error = try #require(failure(#"{"id": "\#(ascii)b", "prompt": "x"}"#))
        #expect(error.kind == "missing_id")
        // 86 characters but 258 bytes: the limit is in bytes.
        let cjk = try #require(failure(#"{"id": "\#(String(repeating: "中", count: 86))", "prompt": "x"}"#))
        #expect(cjk.kind == "missing_id")
        #expect(cjk.jobID == nil)
    }

    // MARK: messages and prompt

    @Test func bothMessagesAndPromptIsInvalid() throws {
        let error = try #require(failure(#"{"id": "j1", "prompt": "x", "messages": [{"role": "user", "content": "y"}]}"#))
        #expect(error.kind == "invalid_field")
        #expect(error.jobID == "j1")
        #expect(error.message.contains("prompt"))
    }

    @Test func neitherMessagesNorPromptIsInvalid() throws {
        let error = try #require(failure(#"{"id": "j1"}"#))
        #expect(error.kind == "invalid_field")
        #expect(error.jobID == "j1")
        #expect(error.message.contains("messages"))
    }

    @Test(arguments: [
        #""messages": []"#,
        #""messages": {"role": "user", "content": "x"}"#,
        #""messages": "hi""#,
        #""messages": null"#,
        #""messages": ["hi"]"#,
        #""messages": [{"role": "user"}]"#,
        #""messages": [{"content": "x"}]"#,
        #""messages": [{"role": "user", "content": 42}]"#,
        #""messages": [{"role": "user", "content": null}]"#,
        #""messages": [{"role": "user", "content": ["x"]}]"#,
        #""messages": [{"role": 1, "content": "x"}]"#,
        #""messages": [{"role": "tool", "content": "x"}]"#,
        #""messages": [{"role": "User", "content": "x"}]"#,
        #""messages": [{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}]"#,
        #""prompt": 42"#,
        #""prompt": null"#,
        #""prompt": ["x"]"#,
    ])
    func badMessagesOrPrompt(fragment: String) throws {
        let error = try #require(failure(#"{"id": "j1", \#(fragment)}"#))
        #expect(error.kind == "invalid_field")
        #expect(error.jobID == "j1")
    }

    @Test func badRoleNamesTheMessage() throws {
        let error = try #require(failure(#"{"id": "j1", "messages": [{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}]}"#))
        #expect(error.message.contains("messages[1]"))
    }

    // MARK: other fields

    @Test(arguments: [
        (#""model": 4"#, "model"),
        (#""model": ["m"]"#, "model"),
        (#""stream": "true""#, "stream"),
        (#""stream": 1"#, "stream"),
        (#""deadline": "tomorrow""#, "deadline"),
        (#""deadline": "2026-11-25""#, "deadline"),
        (#""deadline": "2026-13-45T10:00:00Z""#, "deadline"),
        (#""deadline": 1795600800"#, "deadline"),
        (#""metadata": [1, 2]"#, "metadata"),
        (#""metadata": "x""#, "metadata"),
        (#""metadata": 1"#, "metadata"),
        (#""params": [1]"#, "params"),
        (#""params": "max_tokens=5""#, "params"),
        (#""params": {"max_tokens": 0}"#, "params.max_tokens"),
        (#""params": {"max_tokens": -5}"#, "params.max_tokens"),
        (#""params": {"max_tokens": 1.5}"#, "params.max_tokens"),
        (#""params": {"max_tokens": 1000001}"#, "params.max_tokens"),
        (#""params": {"max_tokens": 1e300}"#, "params.max_tokens"),
        (#""params": {"max_tokens": "10"}"#, "params.max_tokens"),
        (#""params": {"max_tokens": true}"#, "params.max_tokens"),
        (#""params": {"temperature": -0.1}"#, "params.temperature"),
        (#""params": {"temperature": 2.0001}"#, "params.temperature"),
        (#""params": {"temperature": "hot"}"#, "params.temperature"),
        (#""params": {"top_p": 0}"#, "params.top_p"),
        (#""params": {"top_p": 1.01}"#, "params.top_p"),
        (#""params": {"top_p": -1}"#, "params.top_p"),
        (#""params": {"top_p": [0.5]}"#, "params.top_p"),
        (#""params": {"stop": 5}"#, "params.stop"),
        (#""params": {"stop": ["a", 5]}"#, "params.stop"),
        (#""params": {"stop": ["a", null]}"#, "params.stop"),
        (#""params": {"stop": ["a", "b", "c", "d", "e"]}"#, "params.stop"),
        (#""params": {"stop": {"a": "b"}}"#, "params.stop"),
        (#""params": {"frequency_penalty": 0.5}"#, "params.frequency_penalty"),
        (#""params": {"maxTokens": 5}"#, "params.maxTokens"),
    ])
    func badFieldIsNamed(fragment: String, field: String) throws {
        let error = try #require(failure(#"{"id": "j1", "prompt": "x", \#(fragment)}"#))
        #expect(error.kind == "invalid_field")
        #expect(error.jobID == "j1")
        #expect(error.message.hasPrefix(field + " "), "\(error.message)")
    }

    // MARK: hostile payloads

    @Test func sizeLimitIsInclusive() throws {
        let text = #"{"id": "a", "prompt": "xxxxxxxxxx"}"#
        let size = text.utf8.count
        #expect(throws: Never.self) { try parse(text, maxJobBytes: size).get() }
        let error = try #require(failure(text, maxJobBytes: size - 1))
        #expect(error.kind == "too_large")
        #expect(error.jobID == nil)
    }

    @Test func hugePayloadIsRejectedUnread() throws {
        // 2 MiB of garbage: too_large, not malformed_json, proves it was not parsed.
        let error = try #require(failure([UInt8](repeating: UInt8(ascii: "["), count: 2 << 20)))
        #expect(error.kind == "too_large")
        #expect(error.message.contains("\(2 << 20)"))
    }

    @Test func hugeStringUnderTheLimitIsAccepted() throws {
        let big = String(repeating: "ab😀中\\n", count: 60_000)  // ~0.7 MB of JSON
        let job = try job(#"{"id": "big", "prompt": "\#(big)"}"#)
        #expect(job.messages.first?.content.utf8.count == 60_000 * 10)
    }

    @Test(arguments: [
        "", " ", "{", "}", "{\"id\": \"a\" \"prompt\": \"x\"}", "{id: \"a\"}",
        "{\"id\": 'a'}", "{\"id\": \"a\", \"prompt\": \"x\"", "{\"id\": \"a\"}}", "nul", "tru",
        "{\"id\": \"a\", \"prompt\": \"unterminated}", "{\"id\": \"a\", \"prompt\": \"bad \\q escape\"}",
        "{\"id\": \"a\", \"prompt\": \"raw\u{01}control\"}", "NaN",
        "{\"id\": \"a\", \"n\": 01}", "{\"id\": \"a\", \"n\": -}", "\u{FEFF}{\"id\": 1,",
    ])
    func malformedJSON(text: String) throws {
        let error = try #require(failure(text))
        #expect(error.kind == "malformed_json")
        #expect(error.jobID == nil)
    }

    /// RFC 8259 has no trailing commas. Foundation's JSONDecoder accepted them; `JSONParser` (issue 11) does not.
    @Test(arguments: [#"{"id": "a", "prompt": "x",}"#, #"{"id": "a", "prompt": "x", "params": {"stop": ["a",]}}"#, "[1,]"])
    func trailingCommasAreMalformed(text: String) throws {
        let error = try #require(failure(text))
        #expect(error.kind == "malformed_json")
    }

    @Test(arguments: [
        [0xFF],
        [0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xC3, 0x22, 0x7D],  // {"id":"<truncated 2-byte seq>"}
        Array(#"{"id": "a", "prompt": ""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8),  // encoded surrogate
        Array(#"{"id": "a", "prompt": ""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8),  // overlong "/"
        Array(#"{"id": "a", "prompt": ""#.utf8) + [0xF8, 0x88, 0x80, 0x80, 0x80] + Array(#""}"#.utf8),
        Array(#"{"id": "a", "prompt": ""#.utf8) + [0x80] + Array(#""}"#.utf8),
    ] as [[UInt8]])
    func invalidUTF8IsMalformed(bytes: [UInt8]) throws {
        let error = try #require(failure(bytes))
        #expect(error.kind == "malformed_json")
    }

    @Test(arguments: ["[]", #""job""#, "42", "-1.5e3", "null", "true", "false", #"[{"id": "a", "prompt": "x"}]"#])
    func topLevelMustBeAnObject(text: String) throws {
        let error = try #require(failure(text))
        #expect(error.kind == "invalid_job")
        #expect(error.jobID == nil)
    }

    @Test func tenThousandNestedArraysDoNotCrash() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let error = try #require(failure(deep))
        #expect(error.kind == "malformed_json" && error.message.contains("nested deeper than 512"), "\(error)")

        let unbalanced = String(repeating: "[", count: 200_000)
        #expect(try #require(failure(unbalanced)).kind == "malformed_json")
    }

    @Test func deepNestingInsideMetadataDoesNotCrash() throws {
        for depth in [10_000, 100_000] {
            let nested = String(repeating: #"{"a":["#, count: depth) + String(repeating: "]}", count: depth)
            let text = #"{"id": "deep", "prompt": "x", "metadata": \#(nested)}"#
            guard case .failure(let error) = parse(text, maxJobBytes: text.utf8.count) else {
                Issue.record("metadata nested \(depth) deep was accepted")
                continue
            }
            #expect(error.kind == "malformed_json", "\(error)")
        }
        // Moderate nesting is ordinary metadata.
        let nested = String(repeating: "[", count: 50) + String(repeating: "]", count: 50)
        #expect(try job(#"{"id": "a", "prompt": "x", "metadata": {"n": \#(nested)}}"#).metadata != nil)
    }

    /// A lone UTF-16 surrogate escape has no Unicode scalar: the id and text could not be written
    /// back as UTF-8 in the result, so the job is rejected as malformed JSON (RFC 8259 §8.2 leaves
    /// the behaviour to the parser; Foundation's refuses them). Paired surrogates are fine.
    @Test func loneSurrogateEscapesAreMalformed() throws {
        for escape in [#"\ud800"#, #"\udc00"#, #"\ud800\u0041"#, #"\ud800\ud800"#, #"\ud83d"#] {
            for json in [#"{"id": "\#(escape)", "prompt": "p"}"#, #"{"id": "a", "prompt": "\#(escape)"}"#] {
                let error = try #require(failure(json), "\(json) was accepted")
                #expect(error.kind == "malformed_json", "\(json): \(error)")
            }
        }
        let paired = try job(#"{"id": "\ud83d\ude00", "prompt": "\ud83d\ude00 \u00e9"}"#)
        #expect(paired.id == "😀")
        #expect(paired.messages.first?.content == "😀 é")
    }

    /// Numbers are read as Doubles. One beyond Double's range (overflow, or a non-zero literal that
    /// would round to 0) cannot be carried faithfully, also not echoed back in `metadata`: the job is
    /// malformed JSON (RFC 8259 §6 lets parsers limit range). In range, it is a value like any other:
    /// fine in metadata, and params check their own ranges.
    @Test func numbersBeyondDoubleAreMalformedAndLargeOnesAreRangeChecked() throws {
        for number in ["1e400", "-1e400", "1e-400"] {
            for json in [#"{"id": "n", "prompt": "x", "metadata": {"v": \#(number)}}"#,
                         #"{"id": "n", "prompt": "x", "params": {"temperature": \#(number)}}"#] {
                let error = try #require(failure(json), "\(json) was accepted")
                #expect(error.kind == "malformed_json", "\(json): \(error)")
            }
        }
        let big = try job(#"{"id": "n", "prompt": "x", "metadata": {"v": 123456789012345678901234567890}}"#)
        #expect(big.metadata == .object(["v": .number(123456789012345678901234567890)]))
        let tooHot = try #require(failure(#"{"id": "n", "prompt": "x", "params": {"temperature": 123456789012345678901234567890}}"#))
        #expect(tooHot.kind == "invalid_field" && tooHot.message.contains("params.temperature"), "\(tooHot)")
        let tooLong = try #require(failure(#"{"id": "n", "prompt": "x", "params": {"max_tokens": 123456789012345678901234567890}}"#))
        #expect(tooLong.kind == "invalid_field" && tooLong.message.contains("params.max_tokens"), "\(tooLong)")
        let tiny = try job(#"{"id": "n", "prompt": "x", "params": {"temperature": 0.0000000000000000000000001}, "metadata": {"v": 0.0000000000000000000000001}}"#)
        #expect(tiny.params.temperature == 1e-25)
        #expect(tiny.metadata == .object(["v": .number(1e-25)]))
    }

    @Test func errorsNeverEchoTheWholePayload() throws {
        let secret = String(repeating: "S", count: 5_000)
        let error = try #require(failure(#"{"id": "a", "prompt": "\#(secret)", "oops"}"#))
        #expect(error.kind == "malformed_json")
        #expect(error.message.count < 1_000)
    }

    /// Random corruption of valid jobs: every outcome is a job or a known error kind, never a trap.
    @Test func randomlyCorruptedJobsNeverCrash() throws {
        let seeds: [String] = [
            #"{"id": "job-42", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u\n😀"}], "model": "m", "params": {"max_tokens": 512, "temperature": 0.7, "top_p": 0.9, "stop": ["\n\n"]}, "stream": true, "deadline": "2026-11-25T10:00:00Z", "metadata": {"anything": [1, {"x": null}]}}"#,
            #"{"id": "p", "prompt": "你好"}"#,
        ]
        let alphabet = Array(#"{}[]":,\ 0123456789.eE-+truefalsnul"idpromptmessagesrole"#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xFF]
        var rng = SeededRandom(seed: 0x11_77)
        var kinds: [String: Int] = [:]
        let parser = JobParser(maxJobBytes: 4_096)
        for _ in 0..<3_000 {
            var bytes = Array(seeds.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[index] = alphabet.randomElement(using: &rng)!
                case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: index)
                case 2: if bytes.count > 1 { bytes.remove(at: index) }
                case 3: bytes.removeSubrange(index...)
                default: bytes.insert(contentsOf: bytes[index...].prefix(40), at: index)
                }
                if bytes.isEmpty { bytes = [UInt8(ascii: "{")] }
            }
            switch parser.parse(bytes) {
            case .success(let job):
                #expect(!job.id.isEmpty && job.id.utf8.count <= 256)
                #expect(!job.messages.isEmpty)
                #expect(job.messages.allSatisfy { JobParser.roles.contains($0.role) })
                kinds["ok", default: 0] += 1
            case .failure(let error):
                #expect(Self.kinds.contains(error.kind), "\(error)")
                kinds[error.kind, default: 0] += 1
            }
        }
        // The corpus exercises more than the JSON syntax check.
        #expect(kinds.count >= 3, "\(kinds)")
    }

    @Test func validationErrorDescriptionStartsWithTheKind() {
        let error = JobValidationError(kind: "invalid_field", message: "stream must be true or false", jobID: "j")
        #expect(error.description == "invalid_field: stream must be true or false")
    }
}
