import LLMQCore

/// How a successful call ended.
public struct ProviderCompletion: Sendable {
    /// "stop", "length", "content_filter", ... as the provider said; nil if it said nothing.
    public var finishReason: String?
    public var usage: JobResult.Usage?
    /// The model that answered, when the provider reports it.
    public var model: String?

    public init(finishReason: String? = nil, usage: JobResult.Usage? = nil, model: String? = nil) {
        self.finishReason = finishReason
        self.usage = usage
        self.model = model
    }
}
