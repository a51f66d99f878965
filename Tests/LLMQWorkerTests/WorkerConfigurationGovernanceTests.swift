import LLMQWorker
import Testing

/// The governance keys: budgets, adaptive concurrency, quota probing and priority lanes.
@Suite("Worker configuration: provider governance and lanes")
struct WorkerConfigurationGovernanceTests {
    static let required = ["kafka.bootstrap.servers=127.0.0.1:9092", "kafka.group.id=g"]

    static func load(_ settings: [String], environment: [String: String] = [:]) throws -> WorkerConfiguration {
        try WorkerConfiguration.load(file: nil, environment: environment, overrides: required + settings)
    }

    @Test("defaults: no budget, adaptive concurrency from 8, quota probed every 15 s, one lane")
    func defaults() throws {
        let configuration = try Self.load([])
        #expect(configuration.providerRequestsPerMinute == nil && configuration.providerTokensPerMinute == nil)
        #expect(configuration.providerAdaptiveConcurrency && configuration.providerInitialConcurrency == 8)
        #expect(configuration.providerQuotaProbeInterval == .seconds(15))
        #expect(configuration.providerMaxStartingCalls == 32)
        #expect(configuration.jobLanes == [JobLane(topic: "llmq.jobs")])
        let settings = configuration.governorSettings
        #expect(settings.maxConcurrency == 64 && settings.initialConcurrency == 8)
    }

    @Test("budgets and lanes from the environment and --set; 0 turns a budget off")
    func parsing() throws {
        let configuration = try Self.load(["provider.tokens_per_minute=0", "topic.jobs=live:8, batch", "worker.concurrency=4"],
                                          environment: ["LLMQ_PROVIDER_REQUESTS_PER_MINUTE": "1200", "LLMQ_PROVIDER_ADAPTIVE_CONCURRENCY": "off"])
        #expect(configuration.providerRequestsPerMinute == 1200)
        #expect(configuration.providerTokensPerMinute == nil)
        #expect(!configuration.providerAdaptiveConcurrency)
        #expect(configuration.jobLanes == [JobLane(topic: "live", weight: 8), JobLane(topic: "batch", weight: 1)])
        #expect(configuration.jobsTopic == "live" && configuration.jobTopics == ["live", "batch"])
        #expect(configuration.governorSettings.initialConcurrency == 4, "never above worker.concurrency")
        #expect(configuration.redactedSummary.contains("topic.jobs = live:8, batch"))
    }

    @Test("provider.max_starting_calls: a number, 0 for no bound")
    func maxStartingCalls() throws {
        #expect(try Self.load(["provider.max_starting_calls=0"]).providerMaxStartingCalls == 0)
        #expect(try Self.load([], environment: ["LLMQ_PROVIDER_MAX_STARTING_CALLS": "8"]).providerMaxStartingCalls == 8)
    }

    @Test("provider.connection_pools: automatic by default, one pool per 256 of worker.concurrency")
    func connectionPools() throws {
        #expect(try Self.load([]).providerConnectionPools == 0)
        #expect(try Self.load(["worker.concurrency=64"]).effectiveConnectionPools == 1)
        #expect(try Self.load(["worker.concurrency=256"]).effectiveConnectionPools == 1)
        #expect(try Self.load(["worker.concurrency=257"]).effectiveConnectionPools == 2)
        #expect(try Self.load(["worker.concurrency=10000"]).effectiveConnectionPools == 40)
        #expect(try Self.load(["worker.concurrency=10000", "provider.connection_pools=1"]).effectiveConnectionPools == 1)
    }

    @Test("a bad value stops start-up naming the key", arguments: [
        ("topic.jobs", "live:0"), ("topic.jobs", "live:x"), ("topic.jobs", "a:1:2"), ("topic.jobs", "a, a:2"), ("topic.jobs", " , "),
        ("provider.requests_per_minute", "-1"), ("provider.requests_per_minute", "many"), ("provider.tokens_per_minute", "1.5"),
        ("provider.adaptive_concurrency", "maybe"), ("provider.initial_concurrency", "0"), ("provider.quota_probe_ms", "10"),
        ("provider.max_starting_calls", "-1"), ("provider.max_starting_calls", "some"),
        ("provider.connection_pools", "-1"), ("provider.connection_pools", "2000"),
    ])
    func badValues(key: String, value: String) {
        #expect {
            _ = try Self.load(["\(key)=\(value)"])
        } throws: { error in
            (error as? ConfigurationError)?.key == key
        }
    }
}
