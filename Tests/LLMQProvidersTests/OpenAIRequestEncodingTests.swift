import Foundation
import LLMQCore
import LLMQTesting
import NIOCore
import Testing

@testable import LLMQProviders

/// `OpenAIWire.Request.encoded()` is written by hand (once per call): for any request it must be
/// the JSON `JSONEncoder` makes of the `Encodable` conformance — the same members, strings and
/// numbers — with its members always in one order (`JSONEncoder`'s order varies from run to run).
@Suite("OpenAI request encoding")
struct OpenAIRequestEncodingTests {
    static let texts = ["", "plain", "Hello \"world\"\n", "tab\there", "slash / back\\slash", "日本語 🙂 naïve",
                        "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}", "\r\n", "\u{2028}"]
    static let numbers: [Double] = [0, 0.7, 1, 1.5, 2, 0.1 + 0.2, 1e-05, 123_456.789]

    static func viaJSONEncoder(_ request: OpenAIWire.Request) throws -> [UInt8] {
        Array(try JSONCoding.encode(request).readableBytesView)
    }

    static func randomRequest(_ rng: inout SeededRandom) -> ProviderRequest {
        func text() -> String {
            (0..<Int.random(in: 0...3, using: &rng)).map { _ in texts.randomElement(using: &rng)! }.joined()
        }
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &rng) ? value() : nil }
        let messages = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
            JobMessage(role: ["system", "user", "assistant"].randomElement(using: &rng)!, content: text())
        }
        let params = JobParams(maxTokens: maybe(Int.random(in: 1...4096, using: &rng)),
                               temperature: maybe(numbers.randomElement(using: &rng)!),
                               topP: maybe(numbers.randomElement(using: &rng)!),
                               stop: maybe((0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }))
        return ProviderRequest(messages: messages, model: maybe(text()), params: params, stream: Bool.random(using: &rng))
    }

    @Test("random requests: the JSON JSONEncoder makes, member for member", arguments: [1, 2, 3] as [UInt64])
    func matchesJSONEncoder(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        for _ in 0..<300 {
            let request = OpenAIWire.Request(Self.randomRequest(&rng), defaultModel: maybeDefault(&rng))
            let expected = try Self.viaJSONEncoder(request)
            let actual = Array(try request.encoded().readableBytesView)
            // Compared as JSON values: numbers may be spelled differently (`1` or `1.0`).
            let expectedValue = try JSONSerialization.jsonObject(with: Data(expected)) as? NSDictionary
            let actualValue = try JSONSerialization.jsonObject(with: Data(actual)) as? NSDictionary
            #expect(expectedValue != nil)
            #expect(actualValue == expectedValue)
            let order = ["model", "messages", "stream", "stream_options", "max_tokens", "temperature", "top_p", "stop"]
            #expect(Self.keys(actual) == order.filter { Self.keys(expected).contains($0) })
        }
    }

    @Test func aStreamingRequestAsksForUsage() throws {
        let request = OpenAIWire.Request(ProviderRequest(messages: [JobMessage(role: "user", content: "hi")], stream: true), defaultModel: "m")
        let json = String(decoding: try request.encoded().readableBytesView, as: UTF8.self)
        #expect(json == #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"#)
    }

    @Test func aNonFiniteTemperatureIsABadRequest() {
        let request = OpenAIWire.Request(ProviderRequest(messages: [], params: JobParams(temperature: .nan)), defaultModel: nil)
        #expect(throws: ProviderError.self) { try request.encoded() }
    }

    private func maybeDefault(_ rng: inout SeededRandom) -> String? {
        Bool.random(using: &rng) ? "default-model" : nil
    }

    /// The object's keys in the order written (top level and nested), by scanning for `"key":`.
    static func keys(_ json: [UInt8]) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else { return [] }
        let text = String(decoding: json, as: UTF8.self)
        return object.keys.sorted { (text.range(of: "\"\($0)\":")?.lowerBound ?? text.endIndex) < (text.range(of: "\"\($1)\":")?.lowerBound ?? text.endIndex) }
    }
}
