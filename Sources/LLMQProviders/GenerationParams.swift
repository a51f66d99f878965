/// Sampling parameters; nil means "the provider's default", and nil fields are not sent.
public struct GenerationParams: Sendable, Hashable {
    /// Maximum number of tokens to generate. Default: nil.
    public var maxTokens: Int?
    /// Sampling temperature. Default: nil.
    public var temperature: Double?
    /// Nucleus sampling. Default: nil.
    public var topP: Double?
    /// Stop sequences. Default: nil.
    public var stop: [String]?

    public init(maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, stop: [String]? = nil) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.stop = stop
    }
}
