import AsyncHTTPClient
import LLMQCore

/// The per-provider part of a streaming call: turns that provider's server-sent events into text
/// and a completion. `ResponseReader` is the loop every provider shares.
protocol StreamEventDecoder: SendableMetatype {
    /// What the stream said so far: model, usage, finish reason.
    var completion: ProviderCompletion { get }
    /// True once the stream's terminal event arrived.
    var isComplete: Bool { get }
    /// Why a stream that ended before `isComplete` is interrupted, e.g. "the stream ended without is_end".
    var missingEnd: String { get }
    /// Applies one event and returns the text it carries (nil or empty: none). Throws `ProviderError`:
    /// an error the provider reported, or `.malformedEvent` for an event that cannot be decoded.
    mutating func decode(_ event: SSEEvent) throws -> String?
}

extension HTTPCall {
    /// An event or body that cannot be decoded (a broken stream: retryable); `snippet` is from `Secrets.snippet`.
    static func undecodable(_ what: String, snippet: String, partialUsage: JobResult.Usage? = nil) -> ProviderError {
        ProviderError(code: .malformedEvent, message: "undecodable \(what): \(snippet)", partialUsage: partialUsage)
    }
}
