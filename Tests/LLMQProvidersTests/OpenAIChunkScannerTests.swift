import Foundation
import LLMQTesting
import Testing

@testable import LLMQProviders

/// The fast path must agree with JSONDecoder wherever it answers, and hand everything else back.
@Suite("OpenAIChunkScanner")
struct OpenAIChunkScannerTests {
    struct Reference: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable { var content: String? }
            var delta: Delta?
            var finish_reason: String?
        }
        struct Usage: Decodable, Equatable {
            var prompt_tokens: Int?
            var completion_tokens: Int?
            var total_tokens: Int?
        }
        var model: String?
        var choices: [Choice]?
        var usage: Usage?
    }

    static let agreeing = [
        #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m-1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"#,
        #"{"model":"m","choices":[{"delta":{"content":"a \"q\" \\ \/ \n\t\r\b\f"},"finish_reason":null}]}"#,
        #"{"choices":[{"delta":{"content":"\u00e9\u65e5\ud83d\ude42 naïve 日本語 🙂"}}]}"#,
        #"{"choices":[{"delta":{},"finish_reason":"stop"}],"usage":null}"#,
        #"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
        #"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":0,"prompt_tokens_details":{"cached_tokens":0},"total_tokens":null}}"#,
        #"{"usage":{}}"#,
        #" { "choices" : [ { "delta" : { "content" : "x" } , "logprobs" : {"a":[1,2.5e3,-3,true,false,null,{"b":[]}]} } , {"delta":{"content":"ignored"}} ] } "#,
        #"{"choices":[]}"#,
        #"{"choices":null,"model":null}"#,
        #"{}"#,
        // Escapes in values the scanner skips (it validates them without making a String).
        #"{"id":"a\"b\u00e9","system_fingerprint":"fp\\x","choices":[{"delta":{"content":"x"}}]}"#,
    ]

    @Test("agrees with JSONDecoder", arguments: agreeing)
    func agrees(_ text: String) throws {
        let fast = try #require(OpenAIChunkScanner.scan(text))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(text.utf8))
        #expect(fast.model == reference.model)
        #expect(fast.content == reference.choices?.first?.delta?.content)
        #expect(fast.finishReason == reference.choices?.first?.finish_reason)
        #expect(fast.usage.map { Reference.Usage(prompt_tokens: $0.prompt_tokens, completion_tokens: $0.completion_tokens, total_tokens: $0.total_tokens) } == reference.usage)
    }

    @Test("hands errors, message bodies, odd token counts and invalid JSON back to the full decoder", arguments: [
        #"{"choices":[],"usage":{"prompt_tokens":1.0,"completion_tokens":2,"total_tokens":3}}"#,
        #"{"choices":[],"usage":{"prompt_tokens":1e3}}"#,
        #"{"choices":[],"usage":{"prompt_tokens":"7"}}"#,
        #"{"choices":[],"usage":{"prompt_tokens":01}}"#,
        #"{"choices":[],"usage":{"prompt_tokens":1234567890123456789}}"#,
        #"{"choices":[],"usage":[1]}"#,
        #"{"error":{"message":"boom"}}"#,
        #"{"choices":[{"message":{"content":"whole"}}]}"#,
        #"{"choices":[{"delta":{"content":"x"}}]"#,
        #"{"choices":[{"delta":{"content":"x"}}]} trailing"#,
        #"{"choices":[{"delta":{"content":"bad \q escape"}}]}"#,
        #"{"choices":[{"delta":{"content":"\ud83d alone"}}]}"#,
        "{\"choices\":[{\"delta\":{\"content\":\"raw \u{01} control\"}}]}",
        #"{"a":"#, "not json", "", "[1]",
        // An escaped key could name a field the scanner reads: the full decoder reads it.
        #"{"choices":[{"delta":{"con\u0074ent":"x"}}]}"#,
        #"{"id":"bad \q escape","choices":[{"delta":{"content":"x"}}]}"#,
        String(repeating: #"{"a":"#, count: 40) + "1" + String(repeating: "}", count: 40),
    ])
    func fallsBack(_ text: String) {
        #expect(OpenAIChunkScanner.scan(text) == nil)
    }

    @Test("random corruptions of a chunk never trap, and any answer matches JSONDecoder", arguments: [1, 2, 3] as [UInt64])
    func corruptions(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        // A content chunk, and the last chunk of a call, which carries `usage`.
        let bases = [Array(Self.agreeing[0].utf8), Array(Self.agreeing[4].utf8)]
        for round in 0..<4000 {
            var bytes = bases[round % 2]
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(Array(#"{}[]",:\ "#.utf8).randomElement(using: &rng)!, at: at)
                default: bytes[at] = Array(#"{}[]",:\ 0an.e-"#.utf8).randomElement(using: &rng)!
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            guard let fast = OpenAIChunkScanner.scan(text) else { continue }
            let reference = try? JSONDecoder().decode(Reference.self, from: Data(text.utf8))
            #expect(reference != nil, "scanner accepted what JSONDecoder rejects: \(text)")
            #expect(fast.content == reference?.choices?.first?.delta?.content, "\(text)")
            #expect(fast.usage.map { Reference.Usage(prompt_tokens: $0.prompt_tokens, completion_tokens: $0.completion_tokens, total_tokens: $0.total_tokens) }
                    == reference?.usage, "\(text)")
        }
    }
}
