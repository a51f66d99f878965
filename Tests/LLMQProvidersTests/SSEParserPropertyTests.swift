import LLMQTesting
import NIOCore
import Testing

@testable import LLMQProviders

/// Property tests (seeded, repeatable): random streams split at random places parse the same as
/// whole, and random garbage never traps.
@Suite("SSEParser properties")
struct SSEParserPropertyTests {
    static let pieces = ["data: ", "data:", "event: x", "id: 7", "retry: 10", ": comment", "日本語", "🙂", "naïve", "{\"a\":1}", "\r\n", "\n", "\r", " ", "field", "[DONE]"]

    func events(_ chunks: [[UInt8]]) -> [SSEEvent] {
        var parser = SSEParser()
        var result: [SSEEvent] = []
        for chunk in chunks {
            parser.append(ByteBuffer(bytes: chunk))
            while let event = parser.next() { result.append(event) }
        }
        return result
    }

    @Test("random streams give the same events however the bytes are split", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomSplitsAgree(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        for _ in 0..<200 {
            let text = (0..<Int.random(in: 1...40, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
            let bytes = Array(text.utf8)
            let whole = events([bytes])
            var chunks: [[UInt8]] = []
            var start = 0
            while start < bytes.count {
                let length = Int.random(in: 1...max(1, min(7, bytes.count - start)), using: &rng)
                chunks.append(Array(bytes[start..<start + length]))
                start += length
            }
            #expect(events(chunks) == whole, "\(text.debugDescription)")
        }
    }

    @Test("random bytes never trap and never yield an event without a dispatching blank line", arguments: [11, 12, 13] as [UInt64])
    func garbageIsSafe(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0...512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let parsed = events([bytes])
            let hasBlankLine = bytes.indices.dropFirst().contains { i in
                (bytes[i] == 0x0A || bytes[i] == 0x0D) && (bytes[i - 1] == 0x0A || bytes[i - 1] == 0x0D)
            }
            if !hasBlankLine { #expect(parsed.isEmpty) }
        }
    }
}
