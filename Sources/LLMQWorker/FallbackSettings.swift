import LLMQProviders

/// `provider.fallback.*`: a second provider that serves retries of retryable failures and every
/// call while the primary's circuit is open (`FallbackProvider`). Off unless `provider.fallback.kind` is set.
public struct FallbackSettings: Sendable {
    /// `provider.fallback.kind`: `openai`, `ernie` or `mock`; nil: no fallback. Default: nil.
    public var kind: WorkerConfiguration.ProviderKind? = nil
    /// `provider.fallback.base_url`: required with a kind. Default: none.
    public var baseURL: String? = nil
    /// `provider.fallback.model`: the fallback's model, whatever model a job names. Required with a kind. Default: none.
    public var model: String? = nil
    /// `provider.fallback.api_key`: OpenAI Bearer key, or ERNIE API key (AK). Secret. Default: none.
    public var apiKey: String? = nil
    /// `provider.fallback.secret_key`: ERNIE secret key (SK). Secret. Default: none.
    public var secretKey: String? = nil
    /// `provider.fallback.access_token`: ERNIE access token given directly. Secret. Default: none.
    public var accessToken: String? = nil
    /// `provider.fallback.after_attempts`, `provider.fallback.circuit_failures`,
    /// `provider.fallback.circuit_cooldown_ms`. Default: 1, 5, 30000.
    public var policy = FallbackPolicy()

    public init() {}

    /// The fallback's name in results (`provider`), logs and metric labels: `fallback:<kind>`, so it
    /// differs from the primary's even when both are of one kind.
    public var name: String? { self.kind.map { "fallback:\($0.rawValue)" } }
}
