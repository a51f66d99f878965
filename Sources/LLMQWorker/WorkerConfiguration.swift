import Foundation
import LLMQKafka
import LLMQProviders

/// Everything a worker needs, read from worker.conf, the environment and the command line
/// (`WorkerConfiguration+Loading.swift`). Nothing else reads raw keys.
public struct WorkerConfiguration: Sendable {
    /// librdkafka properties (`kafka.*` keys without the prefix). Defaults for the jobs consumer:
    /// `auto.offset.reset=earliest`, `partition.assignment.strategy=cooperative-sticky`,
    /// `enable.auto.offset.store=false`, `enable.auto.commit=false` (llmq commits itself: `CommitSchedule`),
    /// `statistics.interval.ms=5000`.
    public var kafka: KafkaConfig = KafkaConfig()

    /// `topic.jobs`: one topic, or priority lanes `topic:weight, ...` (weight default 1). Default `llmq.jobs`.
    public var jobLanes = [JobLane(topic: "llmq.jobs")]
    /// The first lane's topic: where `llmq enqueue`, the gateway and dead-letter replays put jobs.
    public var jobsTopic: String { jobLanes[0].topic }
    /// Every jobs topic, lanes in the order configured.
    public var jobTopics: [String] { jobLanes.map(\.topic) }
    /// `topic.chunks`. Default `llmq.chunks`.
    public var chunksTopic = "llmq.chunks"
    /// `topic.results`. Default `llmq.results`.
    public var resultsTopic = "llmq.results"
    /// `topic.dead_letter`. Default `llmq.jobs.dlq`.
    public var deadLetterTopic = "llmq.jobs.dlq"
    /// `topic.control`: cancel requests, read by every worker without a group. Default `llmq.control`.
    public var controlTopic = "llmq.control"

    /// `worker.concurrency`: jobs in flight per process. Default 64.
    public var concurrency = 64
    /// `worker.max_job_bytes`: larger job payloads are `invalid`. Default 1048576.
    public var maxJobBytes = 1 << 20
    /// `worker.shutdown_grace_ms`: how long SIGTERM waits for in-flight jobs before cancelling them. Default 30000.
    public var shutdownGrace: Duration = .seconds(30)
    /// `worker.revoke_grace_ms`: how long a revoked partition's in-flight jobs may run on. Default 10000.
    public var revokeGrace: Duration = .seconds(10)
    /// `worker.id`: prefix of stream ids and the `worker` field of results. Default: random per process.
    public var workerID: String? = nil
    /// `worker.chunk_coalesce_bytes`: merge deltas until this many bytes before producing (0 = off). Default 0.
    public var chunkCoalesceBytes = 0
    /// `worker.chunk_coalesce_ms`: produce a merged delta at the latest after this long. Default 0 (off).
    public var chunkCoalesceDelay: Duration = .zero

    /// `provider.kind`: `openai`, `ernie` or `mock`. Default `mock`.
    public var providerKind = ProviderKind.mock
    /// `provider.base_url`. Default `http://127.0.0.1:8089`.
    public var providerBaseURL = "http://127.0.0.1:8089"
    /// `provider.model`: used when a job names none. Default `mock-1`.
    public var providerModel = "mock-1"
    /// `provider.api_key`: OpenAI Bearer key, or ERNIE API key (AK). Secret. Default none.
    public var providerAPIKey: String? = nil
    /// `provider.secret_key`: ERNIE secret key (SK). Secret. Default none.
    public var providerSecretKey: String? = nil
    /// `provider.access_token`: ERNIE access token given directly. Secret. Default none.
    public var providerAccessToken: String? = nil
    /// `provider.stream_fallback.interruptions`, `provider.stream_fallback.window_ms`,
    /// `provider.stream_fallback.quiet_ms`: after that many interrupted streams of a provider within
    /// the window, its calls go non-streaming until the quiet period passed. Default 0 (off), 60000, 300000.
    public var streamFallback = StreamFallbackPolicy()
    /// `provider.fallback.*`: the fallback provider. Default: none (see `FallbackSettings`).
    public var fallback = FallbackSettings()

    /// `provider.requests_per_minute`: the account's request limit, shared by every replica of the group. Default none.
    public var providerRequestsPerMinute: Int? = nil
    /// `provider.tokens_per_minute`: the account's token limit (prompt and completion), shared likewise. Default none.
    public var providerTokensPerMinute: Int? = nil
    /// `provider.adaptive_concurrency`: the in-flight limit adapts to the provider's push-back. Default true.
    public var providerAdaptiveConcurrency = true
    /// `provider.initial_concurrency`: where the adaptive limit starts (then doubles each round until push-back). Default 8.
    public var providerInitialConcurrency = 8
    /// `provider.quota_probe_ms`: while the quota is exhausted, how often one call tests it. Default 15000.
    public var providerQuotaProbeInterval: Duration = .seconds(15)
    /// `provider.max_starting_calls`: calls being set up at once (connection, request sent); more
    /// wait their turn, so a burst of new jobs does not hold up the streams already open. 0: no
    /// bound. Default 32.
    public var providerMaxStartingCalls = 32
    /// `provider.connection_pools`: HTTP connection pools (AsyncHTTPClient clients) the calls are
    /// spread over, so no pool holds thousands of connections (each pool event costs time in
    /// proportion to its connections). 0: automatic, one per 256 of `worker.concurrency`. Default 0.
    public var providerConnectionPools = 0

    /// The number of connection pools to use: `provider.connection_pools`, or the automatic count.
    public var effectiveConnectionPools: Int {
        providerConnectionPools > 0 ? providerConnectionPools : HTTPClientShards.automaticCount(concurrency: concurrency)
    }

    /// `retry.max_attempts`, `retry.initial_backoff_ms`, `retry.max_backoff_ms`. Default 3, 4000, 10000.
    public var retry = RetryPolicy.default
    /// `timeout.connect_ms`, `timeout.first_chunk_ms`, `timeout.idle_ms`, `timeout.total_ms`. Default 10000, 5000, 30000, 60000.
    public var timeouts = Timeouts.default

    /// `metrics.host`. Default `0.0.0.0`.
    public var metricsHost = "0.0.0.0"
    /// `metrics.port`: Prometheus `/metrics`, `/healthz`, `/readyz`; 0 picks a free port, -1 disables. Default 9400.
    public var metricsPort = 9400
    /// `log.level`: trace, debug, info, notice, warning, error, critical. Default `info`.
    public var logLevel = "info"

    /// `gateway.*`: the HTTP gateway (`llmq gateway`). Defaults: see `GatewaySettings`.
    public var gateway = GatewaySettings()

    /// After the in-flight jobs ended (or were cancelled), how long a drain waits for the producer to flush.
    public static let drainFlushLimit: Duration = .seconds(10)
    /// Then how long it keeps trying to commit the stored offsets before leaving the group.
    public static let drainCommitLimit: Duration = .seconds(10)

    /// The longest SIGTERM → exit can take: `shutdownGrace` + `drainFlushLimit` + `drainCommitLimit`
    /// (50 s by default). An orchestrator's stop grace (compose `stop_grace_period`, Kubernetes
    /// `terminationGracePeriodSeconds`) must exceed it, or SIGKILL cuts the drain short.
    public var worstCaseDrain: Duration { shutdownGrace + Self.drainFlushLimit + Self.drainCommitLimit }

    public init() {}

    public enum ProviderKind: String, Sendable, CaseIterable {
        case openai, ernie, mock
    }
}

/// A jobs topic and its weight among the priority lanes (`topic.jobs = interactive:8, batch:1`).
public struct JobLane: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    /// When leases (or the provider's budget) are scarce, waiting lanes get them in proportion to
    /// their weights; a lane never gets less than its share of what it asks for.
    public var weight: Int

    public init(topic: String, weight: Int = 1) {
        self.topic = topic
        self.weight = weight
    }

    public var description: String { weight == 1 ? topic : "\(topic):\(weight)" }

    /// `topic[:weight], ...`: weights from 1 to 1000, each topic once.
    static func parse(_ value: String, fail: (String) -> ConfigurationError) throws -> [JobLane] {
        var lanes: [JobLane] = []
        for item in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts[0].isEmpty else { throw fail("expected topic or topic:weight, got \"\(item)\"") }
            var lane = JobLane(topic: String(parts[0]))
            if parts.count == 2 {
                guard let weight = Int(parts[1]), (1...1000).contains(weight) else {
                    throw fail("the weight of '\(parts[0])' must be an integer from 1 to 1000, got \"\(parts[1])\"")
                }
                lane.weight = weight
            }
            guard !lanes.contains(where: { $0.topic == lane.topic }) else { throw fail("topic '\(lane.topic)' is named twice") }
            lanes.append(lane)
        }
        guard !lanes.isEmpty else { throw fail("must name at least one topic") }
        return lanes
    }
}

extension Int {
    /// nil for 0 ("off").
    var nonZero: Int? { self == 0 ? nil : self }
}

extension WorkerConfiguration {
    /// The `provider.*` governance keys as the governor's settings.
    public var governorSettings: ProviderGovernor.Settings {
        ProviderGovernor.Settings(requestsPerMinute: providerRequestsPerMinute, tokensPerMinute: providerTokensPerMinute,
                                  adaptive: providerAdaptiveConcurrency, maxConcurrency: concurrency,
                                  initialConcurrency: providerInitialConcurrency, quotaProbeInterval: providerQuotaProbeInterval)
    }
}
