import LLMQProviders
import Testing

@testable import LLMQWorker

/// `provider.stream_fallback.*` and `provider.fallback.*` (issue 12, items 4 and 5).
@Suite("WorkerConfiguration: fallbacks")
struct WorkerConfigurationFallbackTests {
    static let required = ["kafka.bootstrap.servers=127.0.0.1:9092", "kafka.group.id=g"]
    static let fallback = ["provider.fallback.kind=openai", "provider.fallback.base_url=https://api.example.com/", "provider.fallback.model=gpt-x"]

    private func load(_ settings: [String], environment: [String: String] = [:]) throws -> WorkerConfiguration {
        try WorkerConfiguration.load(file: nil, environment: environment, overrides: Self.required + settings)
    }

    private func loadError(_ settings: [String], environment: [String: String] = [:],
                           sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        do {
            _ = try load(settings, environment: environment)
            Issue.record("expected a ConfigurationError", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }

    @Test func defaultsAreOff() throws {
        let configuration = try load([])
        #expect(configuration.streamFallback == StreamFallbackPolicy(interruptions: 0, window: .seconds(60), quiet: .seconds(300)))
        #expect(!configuration.streamFallback.isEnabled)
        #expect(configuration.fallback.kind == nil)
        #expect(configuration.fallback.name == nil)
        #expect(configuration.fallback.policy == FallbackPolicy(afterAttempts: 1, circuitFailures: 5, circuitCooldown: .seconds(30)))
    }

    @Test func keysAreRead() throws {
        let configuration = try load(Self.fallback + [
            "provider.stream_fallback.interruptions=3", "provider.stream_fallback.window_ms=1000", "provider.stream_fallback.quiet_ms=2000",
            "provider.fallback.api_key=sk-fallback-0123", "provider.fallback.after_attempts=2",
            "provider.fallback.circuit_failures=0", "provider.fallback.circuit_cooldown_ms=5000",
        ])
        #expect(configuration.streamFallback == StreamFallbackPolicy(interruptions: 3, window: .seconds(1), quiet: .seconds(2)))
        #expect(configuration.fallback.kind == .openai)
        #expect(configuration.fallback.name == "fallback:openai")
        #expect(configuration.fallback.baseURL == "https://api.example.com")
        #expect(configuration.fallback.model == "gpt-x")
        #expect(configuration.fallback.apiKey == "sk-fallback-0123")
        #expect(configuration.fallback.policy == FallbackPolicy(afterAttempts: 2, circuitFailures: 0, circuitCooldown: .seconds(5)))
    }

    @Test func secretsComeFromTheEnvironmentAndAreNeverShown() throws {
        let secret = "sk-FALLBACK-SECRET"
        let configuration = try load(Self.fallback, environment: ["LLMQ_PROVIDER_FALLBACK_API_KEY": secret,
                                                                  "LLMQ_PROVIDER_STREAM_FALLBACK_INTERRUPTIONS": "4"])
        #expect(configuration.fallback.apiKey == secret)
        #expect(configuration.streamFallback.interruptions == 4)
        for key in ["provider.fallback.api_key", "provider.fallback.secret_key", "provider.fallback.access_token"] {
            #expect(WorkerConfiguration.isSecret(key), "\(key)")
        }
        let summary = configuration.redactedSummary.joined(separator: "\n")
        #expect(summary.contains("provider.fallback.api_key = ***"))
        #expect(summary.contains("provider.fallback.kind = openai"))
        #expect(!summary.contains(secret))
        // A bad value beside the secret names its key and never the secret.
        let error = try #require(loadError(Self.fallback + ["provider.fallback.after_attempts=0"], environment: ["LLMQ_PROVIDER_FALLBACK_API_KEY": secret]))
        #expect(error.key == "provider.fallback.after_attempts")
        #expect(!error.description.contains(secret))
    }

    @Test(arguments: [
        (["provider.stream_fallback.interruptions=-1"], "provider.stream_fallback.interruptions"),
        (["provider.stream_fallback.window_ms=0"], "provider.stream_fallback.window_ms"),
        (["provider.stream_fallback.quiet_ms=soon"], "provider.stream_fallback.quiet_ms"),
        (["provider.fallback.kind=claude"], "provider.fallback.kind"),
        (["provider.fallback.kind=openai", "provider.fallback.model=m"], "provider.fallback.base_url"),
        (["provider.fallback.kind=openai", "provider.fallback.base_url=http://x"], "provider.fallback.model"),
        (["provider.fallback.kind=openai", "provider.fallback.base_url=ftp://x", "provider.fallback.model=m"], "provider.fallback.base_url"),
        (["provider.fallback.kind=ernie", "provider.fallback.base_url=http://x", "provider.fallback.model=m", "provider.fallback.api_key=ak-only"],
         "provider.fallback.access_token"),
        (["provider.fallback.base_url=http://x"], "provider.fallback.base_url"),
        (["provider.fallback.api_key=sk-orphan"], "provider.fallback.api_key"),
        (["provider.fallback.circuit_failures=x"], "provider.fallback.circuit_failures"),
        (["provider.fallback.circuit_cooldown_ms=0"], "provider.fallback.circuit_cooldown_ms"),
    ])
    func badSettingsNameTheKey(settings: [String], key: String) throws {
        let error = try #require(loadError(settings))
        #expect(error.key == key, "\(error)")
        #expect(!error.description.contains("sk-orphan"))
    }

    @Test func ernieFallbackWithAToken() throws {
        let configuration = try load(["provider.fallback.kind=ernie", "provider.fallback.base_url=http://127.0.0.1:1",
                                      "provider.fallback.model=completions", "provider.fallback.access_token=tok-123456"])
        #expect(configuration.fallback.name == "fallback:ernie")
        #expect(configuration.fallback.accessToken == "tok-123456")
    }
}
