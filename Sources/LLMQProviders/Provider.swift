/// An LLM backend: one call, one attempt, one stream.
public protocol Provider: Sendable {
    /// "openai", "ernie", "mock": used in logs and metric labels.
    var name: String { get }

    /// One call to the provider (one attempt, one stream). Calls `onDelta` for every non-empty
    /// text piece in order, directly from the body-reading loop, and returns when the stream ended
    /// with its terminal event; throws `ProviderError` otherwise (cancellation -> code `.cancelled`).
    /// An error thrown by `onDelta` itself is rethrown unchanged.
    func complete(
        _ request: ProviderRequest,
        timeouts: Timeouts,
        onDelta: (String) async throws -> Void
    ) async throws -> ProviderCompletion
}
