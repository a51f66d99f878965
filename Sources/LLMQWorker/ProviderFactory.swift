import AsyncHTTPClient
import Logging
import LLMQProviders

/// Builds the configured provider over the process-wide HTTP client.
public enum ProviderFactory {
    public static func make(_ configuration: WorkerConfiguration, httpClient: HTTPClient, logger: Logger) -> any Provider {
        switch configuration.providerKind {
        case .openai, .mock:
            return OpenAIProvider(httpClient: httpClient, baseURL: configuration.providerBaseURL, apiKey: configuration.providerAPIKey,
                                  model: configuration.providerModel, name: configuration.providerKind.rawValue, logger: logger)
        case .ernie:
            let credentials: ErnieProvider.Credentials
            if let token = configuration.providerAccessToken {
                credentials = .accessToken(token)
            } else {
                // validate() guarantees both keys when there is no token.
                credentials = .keys(apiKey: configuration.providerAPIKey ?? "", secretKey: configuration.providerSecretKey ?? "")
            }
            return ErnieProvider(httpClient: httpClient, baseURL: configuration.providerBaseURL, credentials: credentials,
                                 model: configuration.providerModel, logger: logger)
        }
    }
}
