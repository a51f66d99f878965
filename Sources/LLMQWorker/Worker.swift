import Foundation
import LLMQCore
import LLMQKafka
import LLMQProviders
import Logging
import ServiceLifecycle
import Synchronization

/// The worker: consumes jobs, admits at most `worker.concurrency` at once (pausing its partitions
/// while full, never leaving the group), runs each through `JobRunner`, and stores each partition's
/// offset only below jobs whose results the broker has acknowledged.
public final class Worker: Service, Sendable {
    /// What the consumer loop, the job tasks and the rebalance handler share.
    private struct State {
        var tracker = OffsetTracker()
        var running: [TopicPartition: [Int64: Task<Void, Never>]] = [:]
        var paused = false
        var ready = false
    }

    public let configuration: WorkerConfiguration
    public let workerID: String
    private let provider: any Provider
    private let metrics: WorkerMetrics
    private let logger: Logger
    private let admission: Admission
    private let state = Mutex(State())
    private let fatal = Mutex<(any Error)?>(nil)
    private let clients = Mutex<(consumer: KafkaConsumer?, producer: KafkaProducer?)>((nil, nil))

    public init(configuration: WorkerConfiguration, provider: any Provider, metrics: WorkerMetrics = WorkerMetrics(), logger: Logger) {
        self.configuration = configuration
        self.workerID = configuration.workerID ?? Worker.randomID()
        self.provider = provider
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: LogKeys.worker] = "\(workerID)"
        self.logger = logger
        admission = Admission(limit: configuration.concurrency)
        resumeBelow = min(max(1, configuration.concurrency), Worker.maxBufferedMessages / 2)
    }

    /// Fetched-but-unread jobs the consumer may hold (it pauses fetching above this).
    /// Large, because every resume after a pause costs librdkafka a fetch restart (~0.5 s here).
    static let maxBufferedMessages = 10_000
    /// A paused worker resumes fetching once fewer fetched messages than this wait to be read.
    private let resumeBelow: Int

    /// True once subscribed with a working producer (for /readyz).
    public var isReady: Bool { state.withLock { $0.ready } && fatal.withLock { $0 == nil } }
    /// False once a fatal error stopped the worker (for /healthz).
    public var isHealthy: Bool { fatal.withLock { $0 == nil } }
    /// Jobs in flight now.
    public var inFlight: Int { admission.inFlight }

    public func run() async throws {
        let producer = try KafkaProducer(config: configuration.producerKafkaConfig, logger: logger)
        let consumer = try KafkaConsumer(config: configuration.consumerKafkaConfig, logger: logger,
                                         maxBufferedMessages: Worker.maxBufferedMessages,
                                         statistics: metrics.lagReporter(jobsTopic: configuration.jobsTopic)) { [weak self] event in
            await self?.handleRebalance(event)
        }
        clients.withLock { $0 = (consumer, producer) }
        let runner = JobRunner(configuration: configuration, producer: producer, provider: provider,
                               metrics: metrics, workerID: workerID, logger: logger)
        try consumer.subscribe(topics: [configuration.jobsTopic])
        state.withLock { $0.ready = true }
        logger.info("worker started", metadata: ["topic": "\(configuration.jobsTopic)", "concurrency": "\(configuration.concurrency)"])

        let loop = Task { await self.consume(consumer, runner: runner) }
        let watchdog = Task { await self.watchFatalErrors(consumer: consumer, producer: producer, loop: loop) }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await loop.value
            } onGracefulShutdown: {
                loop.cancel()
            }
        } onCancel: {
            loop.cancel()
        }
        watchdog.cancel()
        state.withLock { $0.ready = false }
        await drain(consumer: consumer, producer: producer)
        if let error = fatal.withLock({ $0 }) { throw error }
    }

    /// Reads messages for as long as the task is not cancelled.
    private func consume(_ consumer: KafkaConsumer, runner: JobRunner) async {
        for await message in consumer.messages {
            metrics.queued(since: message.timestampMs)
            guard await admit(consumer) else { break }
            metrics.queued(since: nil)
            let tp = message.topicPartition
            // While this waited for a slot its partition may have been revoked (and even assigned
            // again, refetching from the committed offset): only a message of the current
            // assignment may start, or the tracker could store an offset past unprocessed jobs.
            let started = state.withLock { consumer.isCurrent(message) && $0.tracker.start(tp, offset: message.offset) }
            guard started else {
                // Revoked meanwhile, or a repeat of an offset already started: its owner handles it.
                admission.release()
                continue
            }
            metrics.inFlight.increment()
            state.withLock { state in
                // Created under the lock, so the job cannot remove its entry before it is registered.
                state.running[tp, default: [:]][message.offset] = Task {
                    await self.runJob(message, runner: runner, consumer: consumer)
                }
            }
            if Task.isCancelled { break }
        }
    }

    /// Takes a slot; while none is free, pauses every assigned partition and keeps the poll loop going.
    private func admit(_ consumer: KafkaConsumer) async -> Bool {
        while !admission.tryAcquire() {
            if Task.isCancelled { return false }
            let assignment = Array(consumer.assignment)
            let newlyPaused = state.withLock { state -> Bool in
                defer { state.paused = true }
                return !state.paused
            }
            if newlyPaused {
                try? consumer.pause(assignment)
                metrics.paused.record(1)
                logger.debug("full: partitions paused", metadata: ["in_flight": "\(admission.inFlight)"])
            }
            await admission.waitForSlot()
        }
        // Resume only once the messages fetched ahead run low: resuming on every free slot made
        // librdkafka restart its fetches for a handful of messages each time (BENCHMARKS.md).
        guard consumer.bufferedMessageCount <= resumeBelow else { return true }
        let wasPaused = state.withLock { state -> Bool in
            defer { state.paused = false }
            return state.paused
        }
        if wasPaused {
            try? consumer.resume(Array(consumer.assignment))
            metrics.paused.record(0)
        }
        return true
    }

    private func runJob(_ message: ConsumerMessage, runner: JobRunner, consumer: KafkaConsumer) async {
        let tp = message.topicPartition
        var finished = false
        do {
            try await runner.process(message)
            finished = true
        } catch is CancellationError {
            // Revoked or shutting down before a result: not stored, so the job is redelivered.
        } catch {
            // The broker would not take the result: stop rather than let the offset pass the job.
            logger.critical("stopping: \(error)", metadata: [LogKeys.partition: "\(message.partition)", LogKeys.offset: "\(message.offset)"])
            fatal.withLock { $0 = $0 ?? error }
        }
        // Stored under the lock: two jobs finishing at once must not store their marks out of
        // order, or the stored offset would move backwards (and finished jobs would run again).
        let (store, storeError) = state.withLock { state -> (Int64?, (any Error)?) in
            state.running[tp]?[message.offset] = nil
            guard finished, let store = state.tracker.finish(tp, offset: message.offset) else { return (nil, nil) }
            do {
                try consumer.storeOffsets([TopicPartitionOffset(tp, offset: store)])
                return (store, nil)
            } catch {
                return (store, error)
            }
        }
        if let storeError {
            logger.warning("offset store failed", metadata: [LogKeys.error: "\(storeError)"])
        } else if let store {
            logger.debug("offset stored", metadata: [LogKeys.partition: "\(tp.partition)", LogKeys.offset: "\(store)"])
        }
        metrics.inFlight.decrement()
        admission.release()
    }

    /// Runs on the consumer's poll thread's behalf; the rebalance completes when this returns.
    private func handleRebalance(_ event: RebalanceEvent) async {
        switch event {
        case .assigned(let tps):
            let paused = state.withLock { state -> Bool in
                state.tracker.assign(tps)
                return state.paused
            }
            if paused, let consumer = clients.withLock({ $0.consumer }) { try? consumer.pause(tps) }
        case .revoked(let tps):
            let revoked = Set(tps)
            let deadline = ContinuousClock.now + configuration.revokeGrace
            await waitForJobs(in: revoked, until: deadline)
            state.withLock { $0.tracker.revoke(tps) }
            logger.info("revoke drained", metadata: ["partitions": "\(tps.map(\.description).joined(separator: ","))"])
        }
    }

    /// Waits for running jobs of `partitions` (all when nil) until `deadline`, then cancels the rest
    /// (their streams end with `abort`, no result: they will be redelivered) and waits for them to end.
    private func waitForJobs(in partitions: Set<TopicPartition>?, until deadline: ContinuousClock.Instant) async {
        func remaining() -> [Task<Void, Never>] {
            state.withLock { state in
                state.running.filter { partitions?.contains($0.key) ?? true }.flatMap { $0.value.values }
            }
        }
        while !remaining().isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let left = remaining()
        guard !left.isEmpty else { return }
        logger.info("cancelling jobs past the grace period", metadata: ["jobs": "\(left.count)"])
        for task in left { task.cancel() }
        for task in left { await task.value }
    }

    /// Graceful shutdown: no new jobs; in-flight ones get `worker.shutdown_grace_ms`, then are cancelled;
    /// stored offsets are committed and the consumer leaves the group at once.
    private func drain(consumer: KafkaConsumer, producer: KafkaProducer) async {
        logger.info("draining", metadata: ["in_flight": "\(admission.inFlight)"])
        await waitForJobs(in: nil, until: .now + configuration.shutdownGrace)
        // Jobs between admission and registration finish on their own; wait for every slot.
        _ = await admission.waitUntilIdle(until: .now + .seconds(5))
        try? await producer.flush(timeout: .seconds(10))
        await commitSettled(consumer, within: .seconds(10))
        await consumer.close()
        await producer.close()
        logger.info("worker stopped")
    }

    /// Commits the stored offsets, retrying while the group is mid-rebalance: a SIGTERM that lands
    /// during another member's rebalance otherwise loses the commit (REBALANCE_IN_PROGRESS, then
    /// ILLEGAL_GENERATION) and the finished jobs run again elsewhere. The poll thread keeps serving
    /// the group meanwhile, so the rebalance completes and a later try succeeds.
    private func commitSettled(_ consumer: KafkaConsumer, within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while true {
            do {
                try await consumer.commit()
                return
            } catch let error as KafkaError where error.isTransientGroupError && ContinuousClock.now < deadline {
                logger.info("commit waits for the group to settle", metadata: [LogKeys.error: "\(error.message)"])
                try? await Task.sleep(for: .milliseconds(200))
            } catch {
                logger.warning("final commit failed", metadata: [LogKeys.error: "\(error)"])
                return
            }
        }
    }

    /// Stops the worker (non-zero exit) when librdkafka reports a fatal error.
    private func watchFatalErrors(consumer: KafkaConsumer, producer: KafkaProducer, loop: Task<Void, Never>) async {
        while !Task.isCancelled {
            if let error = consumer.fatalError ?? producer.fatalError {
                logger.critical("stopping on a fatal Kafka error: \(error)")
                fatal.withLock { $0 = $0 ?? error }
                loop.cancel()
                return
            }
            if fatal.withLock({ $0 != nil }) { loop.cancel(); return }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// A worker id for this process when `worker.id` is not set: `w` and 6 random characters.
    static func randomID() -> String { "w" + randomToken(length: 6) }

    static func randomToken(length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<length).map { _ in alphabet.randomElement()! })
    }
}
