import Testing

@testable import LLMQCore

@Suite("ChunkEventEncoder")
struct ChunkEventEncoderTests {
    /// Texts that exercise every escape the writer knows, multi-byte UTF-8 and the empty string.
    static let texts = ["", "Hel", "a \"quoted\" \\ back", "line\nbreak\r\ttab", "\u{01}\u{1F}ctl", "héllo wörld", "🙂 emoji", String(repeating: "x", count: 300)]

    @Test(arguments: texts)
    func deltaBytesMatchTheGeneralEncoder(text: String) {
        let encoder = ChunkEventEncoder(jobID: "job-\"42\"", streamID: "w7-3-1187-1", attempt: 3)
        for seq in [0, 1, 9, 10, 99, 100, 12_345, Int.max] {
            let expected = ChunkEvent(jobID: "job-\"42\"", streamID: "w7-3-1187-1", attempt: 3, seq: seq, kind: .delta(text)).encoded()
            #expect(encoder.delta(seq: seq, text: text) == expected)
            #expect(encoder.encode(seq: seq, kind: .delta(text)) == expected)
        }
    }

    @Test func otherKindsMatchTheGeneralEncoder() {
        let encoder = ChunkEventEncoder(jobID: "j", streamID: "s", attempt: 1)
        let kinds: [ChunkEvent.Kind] = [.start, .end(finishReason: "stop"), .end(finishReason: nil), .abort(reason: "x", retrying: true)]
        for (seq, kind) in kinds.enumerated() {
            #expect(encoder.encode(seq: seq, kind: kind) == ChunkEvent(jobID: "j", streamID: "s", attempt: 1, seq: seq, kind: kind).encoded())
        }
    }

    @Test func randomTextsRoundTrip() {
        var generator = SystemRandomNumberGenerator()
        let encoder = ChunkEventEncoder(jobID: "job-1", streamID: "w-0-1-1", attempt: 1)
        for seq in 0..<500 {
            let scalars = (0..<Int.random(in: 0...40, using: &generator)).map { _ -> Character in
                let value = [UInt32.random(in: 0...0x7F, using: &generator), UInt32.random(in: 0xA0...0xFFFF, using: &generator)].randomElement(using: &generator)!
                return Character(Unicode.Scalar(value) ?? "?")
            }
            let text = String(scalars)
            let bytes = encoder.delta(seq: seq, text: text)
            #expect(bytes == ChunkEvent(jobID: "job-1", streamID: "w-0-1-1", attempt: 1, seq: seq, kind: .delta(text)).encoded())
            #expect(ChunkEvent.decode(bytes) == ChunkEvent(jobID: "job-1", streamID: "w-0-1-1", attempt: 1, seq: seq, kind: .delta(text)))
        }
    }
}
