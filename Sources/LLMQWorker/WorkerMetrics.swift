import Metrics
import Synchronization

/// The worker's metrics, through swift-metrics (exported as Prometheus text at /metrics).
public final class WorkerMetrics: Sendable {
    /// `llmq_chunk_events_total`: chunk events handed to the producer.
    let chunkEvents = Counter(label: "llmq_chunk_events_total")
    /// `llmq_jobs_in_flight`.
    let inFlight = Meter(label: "llmq_jobs_in_flight")
    /// `llmq_first_chunk_seconds`: from the start of processing to the first delta.
    let firstChunk = Timer(label: "llmq_first_chunk_seconds", preferredDisplayUnit: .seconds)
    /// `llmq_job_duration_seconds`: from the start of processing to the acknowledged result.
    let jobDuration = Timer(label: "llmq_job_duration_seconds", preferredDisplayUnit: .seconds)
    /// `llmq_paused`: 1 while the worker is full and its partitions are paused.
    let paused = Gauge(label: "llmq_paused")

    private let labelled = Mutex<[String: Counter]>([:])

    public init() {}

    /// `llmq_jobs_total{status}`.
    func job(status: String) { counter("llmq_jobs_total", ("status", status)).increment() }
    /// `llmq_attempts_total{outcome}`: `ok` or the error kind.
    func attempt(outcome: String) { counter("llmq_attempts_total", ("outcome", outcome)).increment() }
    /// `llmq_retries_total{kind}`.
    func retry(kind: String) { counter("llmq_retries_total", ("kind", kind)).increment() }
    /// `llmq_produce_errors_total{topic}`.
    func produceError(topic: String) { counter("llmq_produce_errors_total", ("topic", topic)).increment() }

    private func counter(_ label: String, _ dimension: (String, String)) -> Counter {
        let key = "\(label)|\(dimension.1)"
        return labelled.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: label, dimensions: [dimension])
            cache[key] = counter
            return counter
        }
    }
}
