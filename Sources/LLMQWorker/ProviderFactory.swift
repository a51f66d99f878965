import AsyncHTTPClient
import LLMQKafka
import Logging
import LLMQProviders

/// Builds the configured provider over the process-wide HTTP clients: the primary, each provider
/// wrapped in the stream fallback when it is on, and the fallback provider around both when one is set.
public enum ProviderFactory {
    public static func make(_ configuration: WorkerConfiguration, httpClients: HTTPClientShards, logger: Logger,
                            metrics: WorkerMetrics = WorkerMetrics()) -> any Provider {
        let primary = withStreamFallback(
            base(kind: configuration.providerKind, name: configuration.providerKind.rawValue, baseURL: configuration.providerBaseURL,
                 model: configuration.providerModel, apiKey: configuration.providerAPIKey, secretKey: configuration.providerSecretKey,
                 accessToken: configuration.providerAccessToken, httpClients: httpClients, logger: logger),
            configuration, logger: logger, metrics: metrics)
        let settings = configuration.fallback
        // validate() guarantees a base URL and a model with a kind.
        guard let kind = settings.kind, let name = settings.name, let baseURL = settings.baseURL else { return primary }
        let fallback = withStreamFallback(
            base(kind: kind, name: name, baseURL: baseURL, model: settings.model, apiKey: settings.apiKey, secretKey: settings.secretKey,
                 accessToken: settings.accessToken, httpClients: httpClients, logger: logger),
            configuration, logger: logger, metrics: metrics)
        // Exported from the start (0), so alerts see the series before the first change.
        metrics.circuit(open: false)
        return FallbackProvider(primary: primary, fallback: fallback, fallbackModel: settings.model, policy: settings.policy) { event in
            switch event {
            case .servedByFallback(let reason):
                metrics.providerFallback(reason: reason.rawValue)
            case .circuit(let transition):
                metrics.circuit(open: transition == .opened)
                let primary = configuration.providerKind.rawValue
                switch transition {
                case .opened:
                    logger.warning("provider circuit opened: calls go to the fallback",
                                   metadata: ["provider": "\(primary)", "fallback": "\(name)",
                                              "cooldown_ms": "\(settings.policy.circuitCooldown.wholeMilliseconds)"])
                case .closed:
                    logger.notice("provider circuit closed: calls go to the primary again", metadata: ["provider": "\(primary)"])
                }
            }
        }
    }

    private static func withStreamFallback(_ provider: any Provider, _ configuration: WorkerConfiguration, logger: Logger,
                                           metrics: WorkerMetrics) -> any Provider {
        let policy = configuration.streamFallback
        guard policy.isEnabled else { return provider }
        let name = provider.name
        metrics.streamFallback(provider: name, active: false)
        return StreamFallbackProvider(provider, policy: policy) { transition in
            switch transition {
            case .stoppedStreaming(let interruptions):
                metrics.streamFallback(provider: name, active: true)
                logger.warning("interrupted streams: calls go non-streaming", metadata: [
                    "provider": "\(name)", "interruptions": "\(interruptions)",
                    "quiet_ms": "\(policy.quiet.wholeMilliseconds)"])
            case .resumedStreaming:
                metrics.streamFallback(provider: name, active: false)
                logger.notice("quiet period passed: calls stream again", metadata: ["provider": "\(name)"])
            }
        }
    }

    private static func base(kind: WorkerConfiguration.ProviderKind, name: String, baseURL: String, model: String?, apiKey: String?,
                             secretKey: String?, accessToken: String?, httpClients: HTTPClientShards, logger: Logger) -> any Provider {
        switch kind {
        case .openai, .mock:
            return OpenAIProvider(httpClients: httpClients, baseURL: baseURL, apiKey: apiKey, model: model, name: name)
        case .ernie:
            let credentials: ErnieProvider.Credentials
            if let accessToken {
                credentials = .accessToken(accessToken)
            } else {
                // validate() guarantees both keys when there is no token.
                credentials = .keys(apiKey: apiKey ?? "", secretKey: secretKey ?? "")
            }
            return ErnieProvider(httpClients: httpClients, baseURL: baseURL, credentials: credentials, model: model, name: name, logger: logger)
        }
    }
}
