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

    /// `topic.jobs`. Default `llmq.jobs`.
    public var jobsTopic = "llmq.jobs"
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
