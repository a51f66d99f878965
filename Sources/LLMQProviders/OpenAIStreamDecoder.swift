#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenAI chat-completion chunks: the scanner's fast path for plain deltas, the full decoder for
/// the rest (usage, errors, odd shapes). Complete at `[DONE]` or a finish reason. Public for the
/// bench's floor client, which does the worker's per-event work without the worker around it.
public struct OpenAIStreamDecoder: StreamEventDecoder {
    let secrets: Secrets
    private let json = JSONDecoder()
    public private(set) var completion = ProviderCompletion()
    private var done = false
    public var isComplete: Bool { self.done || self.completion.finishReason != nil }
    public var missingEnd: String { "the stream ended without [DONE] or a finish_reason" }

    public init(secrets: Secrets) {
        self.secrets = secrets
    }

    public mutating func decode(_ event: SSEEvent) throws -> String? {
        if event.data == "[DONE]" {
            self.done = true
            return nil
        }
        if let fast = OpenAIChunkScanner.scan(event.data) {
            if let model = fast.model { self.completion.model = model }
            if let reason = fast.finishReason { self.completion.finishReason = reason }
            if let usage = fast.usage { self.completion.usage = usage.tokenUsage }
            return fast.content
        }
        let decoded: OpenAIWire.Chunk
        do {
            decoded = try JSONCoding.decode(OpenAIWire.Chunk.self, from: event.data, using: self.json)
        } catch {
            throw HTTPCall.undecodable("event", snippet: self.secrets.snippet(event.data), partialUsage: self.completion.usage)
        }
        if let error = decoded.error {
            throw OpenAIWire.streamError(error, secrets: self.secrets, partialUsage: self.completion.usage)
        }
        if let model = decoded.model { self.completion.model = model }
        if let usage = decoded.usage { self.completion.usage = usage.tokenUsage }
        guard let choice = decoded.choices?.first else { return nil }
        if let reason = choice.finish_reason { self.completion.finishReason = reason }
        return choice.delta?.content
    }
}
