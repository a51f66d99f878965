import Foundation
import LLMQTesting
import Testing

@testable import LLMQCore

/// `JobResult.encoded()` is written by hand (it runs once per job): it must give exactly the bytes
/// `JSONEncoder` gives for `encode(to:)`, for any result.
@Suite("JobResult encoding")
struct JobResultEncodingTests {
    static let texts = ["", "plain", "Hello \"world\"\n", "tab\there", "slash / back\\slash", "日本語 🙂 naïve",
                        "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}", "\r\n", "\u{2028}"]

    static func viaJSONEncoder(_ result: JobResult) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(result))
    }

    static func randomResult(_ rng: inout SeededRandom) -> JobResult {
        func text() -> String {
            (0..<Int.random(in: 0...3, using: &rng)).map { _ in texts.randomElement(using: &rng)! }.joined()
        }
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &rng) ? value() : nil }
        let metadata: JSONValue? = maybe(.object(["k": .string(text()), "n": .number([1.5, 2, -0.25, 1e20].randomElement(using: &rng)!),
                                                  "list": .array([.null, .bool(true)])]))
        return JobResult(
            jobID: maybe(text()), status: JobResult.Status.allCases.randomElement(using: &rng)!, text: text(),
            finishReason: maybe(text()), streamID: maybe(text()), streamEvents: maybe(Int.random(in: 0...500, using: &rng)),
            attempts: Int.random(in: 0...5, using: &rng), throttledCalls: maybe(Int.random(in: 0...3, using: &rng)),
            model: maybe(text()), provider: maybe(text()),
            usage: maybe(.init(promptTokens: Int.random(in: 0...9999, using: &rng), completionTokens: 7, totalTokens: 99)),
            timing: .init(queuedMs: maybe(Int.random(in: 0...99, using: &rng)), firstChunkMs: maybe(-1), totalMs: Int.random(in: 0...99_999, using: &rng)),
            error: maybe(.init(kind: text(), message: text(), retryable: Bool.random(using: &rng),
                               httpStatus: maybe(Int.random(in: 100...599, using: &rng)))),
            metadata: metadata ?? maybe(.object([:])),
            source: .init(topic: text(), partition: Int32.random(in: 0...99, using: &rng), offset: Int64.random(in: 0...Int64.max, using: &rng)),
            worker: maybe(text()), streamFallback: maybe(Bool.random(using: &rng)))
    }

    @Test("random results: the same bytes as JSONEncoder", arguments: [1, 2, 3] as [UInt64])
    func matchesJSONEncoder(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        for _ in 0..<300 {
            let result = Self.randomResult(&rng)
            let expected = try Self.viaJSONEncoder(result)
            let actual = try result.encoded()
            #expect(String(decoding: actual, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        }
    }

    @Test func nonFiniteMetadataStillThrows() {
        let result = JobResult(jobID: "j", status: .succeeded, timing: .init(queuedMs: nil, firstChunkMs: nil, totalMs: 1),
                               metadata: .object(["x": .number(.infinity)]), source: .init(topic: "t", partition: 0, offset: 0))
        #expect(throws: (any Error).self) { try result.encoded() }
        #expect(JobResult.decode(result.encodedForDelivery())?.metadata == .object(["llmq_error": .string("metadata could not be encoded as JSON and was dropped")]))
    }
}
