/// What one provider call asks for.
public struct ProviderRequest: Sendable {
    public var messages: [ChatMessage]
    /// Overrides the provider's configured model. Default: nil.
    public var model: String?
    public var params: GenerationParams
    /// Stream the reply (SSE) or fetch it in one response.
    public var stream: Bool

    public init(messages: [ChatMessage], model: String? = nil, params: GenerationParams = GenerationParams(), stream: Bool = true) {
        self.messages = messages
        self.model = model
        self.params = params
        self.stream = stream
    }
}
