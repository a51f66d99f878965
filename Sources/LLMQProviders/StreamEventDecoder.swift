import AsyncHTTPClient
import LLMQCore

/// The per-provider part of a streaming call: turns that provider's server-sent events into text
/// and a completion. `HTTPCall.readStream` is the loop every provider shares.
protocol StreamEventDecoder {
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
    /// The hot path: body chunks -> SSE events -> `decoder` -> `onDelta`, with no intermediate
    /// stream. Feeds the watchdog (every chunk, the first event); a body that ends before `decoder`
    /// saw its terminal event is an interrupted stream (retryable).
    static func readStream<Decoder: StreamEventDecoder>(
        _ response: HTTPClientResponse,
        watchdog: CallWatchdog,
        decoder: inout Decoder,
        onDelta: (String) async throws -> Void
    ) async throws -> ProviderCompletion {
        var parser = SSEParser()
        var sawEvent = false
        for try await chunk in response.body {
            watchdog.bodyChunk()
            parser.append(chunk)
            while let event = parser.next() {
                if !sawEvent {
                    sawEvent = true
                    watchdog.firstEvent()
                }
                if let text = try decoder.decode(event), !text.isEmpty {
                    try await Self.deliver(text, to: onDelta)
                }
            }
        }
        guard decoder.isComplete else {
            throw ProviderError(code: .streamInterrupted, message: decoder.missingEnd, partialUsage: decoder.completion.usage)
        }
        return decoder.completion
    }

    /// Hands text to the caller; whatever the caller throws passes through `perform` unchanged.
    static func deliver(_ text: String, to onDelta: (String) async throws -> Void) async throws {
        do { try await onDelta(text) } catch { throw DeltaFailure(underlying: error) }
    }

    /// An event or body that cannot be decoded (a broken stream: retryable); `snippet` is from `Secrets.snippet`.
    static func undecodable(_ what: String, snippet: String, partialUsage: JobResult.Usage? = nil) -> ProviderError {
        ProviderError(code: .malformedEvent, message: "undecodable \(what): \(snippet)", partialUsage: partialUsage)
    }
}
