#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LLMQCore
import NIOCore

/// The JSON plumbing shared by the providers. Request bodies are encoded once per call; events are
/// decoded with one decoder per call (a decoder is cheap to reuse and costly to recreate per event).
enum JSONCoding {
    static func encode<T: Encodable>(_ value: T) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return ByteBuffer(bytes: try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String, using decoder: JSONDecoder) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer, using decoder: JSONDecoder) throws -> T {
        try decoder.decode(type, from: Data(buffer.readableBytesView))
    }
}

/// A field some servers send as a number and others as a string (OpenAI's `error.code`).
struct LooseString: Decodable, Sendable {
    let value: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self.value = string
        } else if let int = try? container.decode(Int.self) {
            self.value = String(int)
        } else {
            self.value = ""
        }
    }
}

/// `usage` as both OpenAI and ERNIE report it.
struct WireUsage: Decodable, Sendable, Equatable {
    var prompt_tokens: Int?
    var completion_tokens: Int?
    var total_tokens: Int?

    var tokenUsage: JobResult.Usage {
        let prompt = self.prompt_tokens ?? 0
        let completion = self.completion_tokens ?? 0
        return JobResult.Usage(promptTokens: prompt, completionTokens: completion, totalTokens: self.total_tokens ?? prompt + completion)
    }
}

/// Sampling parameters under their wire names (OpenAI spelling; ERNIE maps `max_tokens` itself).
struct WireMessage: Encodable, Sendable {
    var role: String
    var content: String
}

extension Secrets {
    /// A short, printable, redacted prefix of a body for error messages (redacted before cutting,
    /// so a secret is never left half-visible at the cut).
    func snippet(_ buffer: ByteBuffer) -> String {
        self.snippet(String(decoding: buffer.readableBytesView.prefix(4096), as: UTF8.self))
    }

    func snippet(_ text: String) -> String {
        let redacted = self.redact(text)
        return redacted.count > 300 ? String(redacted.prefix(300)) + "…" : redacted
    }
}
