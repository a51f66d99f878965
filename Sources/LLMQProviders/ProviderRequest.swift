import LLMQCore

/// What one provider call asks for.
public struct ProviderRequest: Sendable {
    public var messages: [JobMessage]
    /// Overrides the provider's configured model. Default: nil.
    public var model: String?
    public var params: JobParams
    /// Stream the reply (SSE) or fetch it in one response.
    public var stream: Bool
    /// Told the status and rate-limit headers of the response head, once per call (the worker's
    /// `ProviderGovernor` learns the provider's limits from them). Default: nil.
    public var onResponseHead: (@Sendable (RateLimitHeaders) -> Void)?
    /// Told when the request went out on a connection (its set-up is over), at most once per HTTP
    /// request; a call that fails before that never tells it (the worker's `CallStartWindow`
    /// releases its slot then too). Default: nil.
    public var onRequestSent: (@Sendable () -> Void)?
    /// Which attempt of the job this call is, from 1 (`FallbackProvider` routes by it). Default: 1.
    public var attempt: Int

    public init(messages: [JobMessage], model: String? = nil, params: JobParams = JobParams(), stream: Bool = true,
                attempt: Int = 1, onResponseHead: (@Sendable (RateLimitHeaders) -> Void)? = nil,
                onRequestSent: (@Sendable () -> Void)? = nil) {
        self.messages = messages
        self.model = model
        self.params = params
        self.stream = stream
        self.attempt = attempt
        self.onResponseHead = onResponseHead
        self.onRequestSent = onRequestSent
    }
}
