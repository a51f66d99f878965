import Foundation
import LLMQKafka
import Metrics
import Synchronization

/// The worker's metrics, through swift-metrics (exported as Prometheus text at /metrics).
public final class WorkerMetrics: Sendable {
    /// `llmq_chunk_events_total`: chunk events handed to the producer.
    let chunkEvents = Counter(label: "llmq_chunk_events_total")
    /// `llmq_chunk_backpressure_total`: chunk events that found librdkafka's queue full, so the
    /// stream stopped reading its provider's response until there was room.
    let chunkBackpressure = Counter(label: "llmq_chunk_backpressure_total")
    /// `llmq_jobs_in_flight`.
    let inFlight = Meter(label: "llmq_jobs_in_flight")
    /// `llmq_first_chunk_seconds`: from the start of processing to the first delta.
    let firstChunk = Timer(label: "llmq_first_chunk_seconds", preferredDisplayUnit: .seconds)
    /// `llmq_job_duration_seconds`: from the start of processing to the acknowledged result.
    let jobDuration = Timer(label: "llmq_job_duration_seconds", preferredDisplayUnit: .seconds)
    /// `llmq_paused`: 1 while fetching is paused (the worker is full and its read-ahead buffer too).
    let paused = Gauge(label: "llmq_paused")
    /// `llmq_oldest_queued_job_seconds`: how long the job waiting for a slot has waited since it was
    /// enqueued (its Kafka timestamp); 0 when none waits. Updated with every statistics report.
    let oldestQueued = Gauge(label: "llmq_oldest_queued_job_seconds")

    // Provider governance (`ProviderGovernor`).
    /// `llmq_provider_concurrency_limit`: calls (and jobs) allowed in flight now, as adaptive concurrency set it.
    let concurrencyLimit = Gauge(label: "llmq_provider_concurrency_limit")
    /// `llmq_provider_budget_share`: this replica's share of the account's budgets (its share of the jobs partitions).
    let budgetShare = Gauge(label: "llmq_provider_budget_share")
    /// `llmq_provider_throttled_total`: calls the provider answered with a rate limit (429).
    let throttled = Counter(label: "llmq_provider_throttled_total")
    /// `llmq_provider_budget_wait_seconds`: how long calls waited for budget or a pause (only calls that waited).
    let budgetWait = Timer(label: "llmq_provider_budget_wait_seconds", preferredDisplayUnit: .seconds)
    /// `llmq_provider_quota_exhausted`: 1 while the provider's quota is used up and consumption is paused.
    let quotaExhausted = Gauge(label: "llmq_provider_quota_exhausted")

    /// `llmq_provider_budget_remaining{budget}`: what this replica could spend now (`requests`, `tokens`).
    func budgetRemaining(_ budget: String, _ value: Double) { gauge("llmq_provider_budget_remaining", [("budget", budget)]).record(value) }
    /// `llmq_provider_pauses_total{reason}`: new calls held for the whole replica (`retry_after`, `limit_reset`, `quota`).
    func providerPause(reason: String) { counter("llmq_provider_pauses_total", ("reason", reason)).increment() }

    private let labelled = Mutex<[String: Counter]>([:])
    private let partitionGauges = Mutex<[String: Gauge]>([:])
    /// Kafka timestamp (ms since the epoch) of the job waiting for a slot, if one waits.
    private let queueHead = Mutex<Int64?>(nil)

    public init() {}

    /// `llmq_jobs_total{status}`.
    func job(status: String) { counter("llmq_jobs_total", ("status", status)).increment() }
    /// `llmq_attempts_total{outcome}`: `ok` or the error kind.
    func attempt(outcome: String) { counter("llmq_attempts_total", ("outcome", outcome)).increment() }
    /// `llmq_retries_total{kind}`.
    func retry(kind: String) { counter("llmq_retries_total", ("kind", kind)).increment() }
    /// `llmq_produce_errors_total{topic}`.
    func produceError(topic: String) { counter("llmq_produce_errors_total", ("topic", topic)).increment() }

    /// `llmq_stream_fallback_switches_total{provider}`: times a provider's calls stopped streaming
    /// after interrupted streams; `llmq_stream_fallback_active{provider}`: 1 while they do not stream.
    func streamFallback(provider: String, active: Bool) {
        if active { counter("llmq_stream_fallback_switches_total", ("provider", provider)).increment() }
        gauge("llmq_stream_fallback_active", [("provider", provider)]).record(active ? 1 : 0)
    }
    /// `llmq_provider_fallbacks_total{reason}`: calls the fallback provider served instead of the
    /// primary, `retry` (a later attempt) or `circuit_open`.
    func providerFallback(reason: String) { counter("llmq_provider_fallbacks_total", ("reason", reason)).increment() }
    /// `llmq_provider_circuit_open`: 1 while the primary's circuit is open (or probing), so the fallback serves every call.
    func circuit(open: Bool) { gauge("llmq_provider_circuit_open", []).record(open ? 1 : 0) }

    /// The job at the head of the worker's queue (waiting for a slot) was enqueued at `timestampMs`;
    /// nil once it got its slot.
    func queued(since timestampMs: Int64?) {
        queueHead.withLock { $0 = timestampMs }
        if timestampMs == nil { oldestQueued.record(0) }
    }

    /// From librdkafka's statistics: `llmq_consumer_lag{topic,partition}` (high watermark minus
    /// committed offset) and `llmq_partition_assigned{topic,partition}` (1 while assigned) for every
    /// known partition of the jobs topic, and `llmq_oldest_queued_job_seconds`.
    public func record(_ statistics: ConsumerStatistics, jobsTopics: Set<String>, now: Date = Date()) {
        for partition in statistics.partitions where jobsTopics.contains(partition.topicPartition.topic) {
            let dimensions = [("topic", partition.topicPartition.topic), ("partition", "\(partition.topicPartition.partition)")]
            gauge("llmq_partition_assigned", dimensions).record(partition.assigned ? 1 : 0)
            // Lag is known only while assigned and once the group has committed an offset.
            if partition.assigned, let lag = partition.lag {
                gauge("llmq_consumer_lag", dimensions).record(lag)
            } else if !partition.assigned {
                gauge("llmq_consumer_lag", dimensions).record(0)
            }
        }
        let waitingSince = queueHead.withLock { $0 }
        let waited = waitingSince.map { max(0, now.timeIntervalSince1970 - Double($0) / 1000) } ?? 0
        oldestQueued.record(waited)
    }

    /// Feeds the consumer's statistics into `record(_:jobsTopics:)`.
    /// `oldestWaiting` tells the Kafka timestamp of the oldest job waiting for a slot, if any.
    func lagReporter(jobsTopics: Set<String>, oldestWaiting: @escaping @Sendable () -> Int64?) -> some ConsumerStatisticsHandler {
        LagReporter(metrics: self, jobsTopics: jobsTopics, oldestWaiting: oldestWaiting)
    }

    private struct LagReporter: ConsumerStatisticsHandler {
        let metrics: WorkerMetrics
        let jobsTopics: Set<String>
        let oldestWaiting: @Sendable () -> Int64?
        func statisticsReported(_ statistics: ConsumerStatistics) {
            metrics.queued(since: oldestWaiting())
            metrics.record(statistics, jobsTopics: jobsTopics)
        }
    }

    private func counter(_ label: String, _ dimension: (String, String)) -> Counter {
        let key = "\(label)|\(dimension.1)"
        return labelled.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: label, dimensions: [dimension])
            cache[key] = counter
            return counter
        }
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
        let key = ([label] + dimensions.map(\.1)).joined(separator: "|")
        return partitionGauges.withLock { cache in
            if let gauge = cache[key] { return gauge }
            let gauge = Gauge(label: label, dimensions: dimensions)
            cache[key] = gauge
            return gauge
        }
    }
}
