/// An LLM backend: one call, one attempt, one stream.
public protocol Provider: Sendable {
    /// "openai", "ernie", "mock": used in logs and metric labels.
    var name: String { get }

    /// One call to the provider (one attempt, one stream). Hands every non-empty text piece to
    /// `sink`, in order — a streaming call does so on the event loop that reads its response, as
    /// each event arrives — and returns when the stream ended with its terminal event; throws
    /// `ProviderError` otherwise (cancellation -> code `.cancelled`). An error thrown by the sink
    /// (or by its backpressure wait) is rethrown unchanged.
    func complete(
        _ request: ProviderRequest,
        timeouts: Timeouts,
        into sink: any DeltaSink
    ) async throws -> ProviderCompletion
}
