import LLMQCore

/// How a successful call ended.
public struct ProviderCompletion: Sendable {
    /// "stop", "length", "content_filter", ... as the provider said; nil if it said nothing.
    public var finishReason: String?
    public var usage: JobResult.Usage?
    /// The model that answered, when the provider reports it.
    public var model: String?
    /// The provider that served the call when a decorator chose one (`FallbackProvider`); nil: the
    /// provider called. Default: nil.
    public var provider: String?
    /// True when the call was made without streaming although the request asked for a stream
    /// (`StreamFallbackProvider`): the text came as one delta. Default: false.
    public var streamFallback: Bool

    public init(finishReason: String? = nil, usage: JobResult.Usage? = nil, model: String? = nil, provider: String? = nil,
                streamFallback: Bool = false) {
        self.finishReason = finishReason
        self.usage = usage
        self.model = model
        self.provider = provider
        self.streamFallback = streamFallback
    }
}
