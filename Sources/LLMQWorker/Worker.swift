import Foundation
import LLMQCore
import LLMQKafka
import LLMQProviders
import Logging
import ServiceLifecycle
import Synchronization

/// The worker: leases jobs from the consumer (at most `worker.concurrency` at once; the consumer's
/// flow pauses fetching when its read-ahead fills and keeps the group served), runs each through
/// `JobRunner` as a child task of `run`, and finishes each lease once the job's result is
/// acknowledged, which stores the partition's offset below the jobs still running.
///
/// Structure: `run` owns the Kafka clients (scoped: their threads end with it) and one task group
/// of jobs. A revoke waits for its partitions' jobs (woken when they finish, not by polling) up
/// to `worker.revoke_grace_ms`, then cancels the rest. A shutdown stops leasing, waits up to
/// `worker.shutdown_grace_ms`, cancels the rest, flushes and commits. A fatal error cancels every job.
public final class Worker: Service, Sendable {
    /// What the job tasks, the rebalance handler and the shutdown path share.
    private struct State {
        /// Jobs running now, by lease, each with the handle that cancels it.
        var jobs: [JobKey: JobCancellation] = [:]
        /// Running jobs by job id once parsed (for cancel requests), and back.
        var jobsByID: [String: JobKey] = [:]
        var idsByJob: [JobKey: String] = [:]
        /// Job ids named by cancel requests on `topic.control`.
        var cancels = CancelRegistry(capacity: Worker.rememberedCancels)
        var consumer: KafkaConsumer?
        var ready = false
        /// Shutting down: leases handed out from now on do not start.
        var stopping = false
        var fatal: (any Error)?
        /// Partitions of all jobs topics, learned at start-up (the denominator of the budget share).
        var jobPartitions = 1
    }

    private struct JobKey: Hashable {
        var partition: TopicPartition
        var offset: Int64
    }

    /// How many cancel requests a worker remembers (about 100 bytes each); older ones are forgotten.
    static let rememberedCancels = 100_000

    public let configuration: WorkerConfiguration
    public let workerID: String
    private let provider: any Provider
    /// When this replica may call the provider; its lease limit is the consumer's.
    public let governor: ProviderGovernor
    private let metrics: WorkerMetrics
    private let logger: Logger
    private let clock: any Clock<Duration>
    private let state = Mutex(State())

    public init(configuration: WorkerConfiguration, provider: any Provider, metrics: WorkerMetrics = WorkerMetrics(),
                logger: Logger, clock: any Clock<Duration> = ContinuousClock()) {
        self.configuration = configuration
        self.workerID = configuration.workerID ?? Worker.randomID()
        self.provider = provider
        self.metrics = metrics
        self.clock = clock
        var logger = logger
        logger[metadataKey: LogKeys.worker] = "\(workerID)"
        self.logger = logger
        governor = ProviderGovernor(settings: configuration.governorSettings, metrics: metrics, logger: logger)
    }

    /// The consumer's bounds: leases at most `worker.concurrency` (lowered by adaptive concurrency);
    /// reads ahead enough to keep every slot fed across a fetch restart (each pause/resume costs
    /// one), within 64 MiB per lane; leases shared among the lanes by their weights.
    var flowLimits: FlowLimits {
        FlowLimits(maxInFlight: governor.leaseLimit, readAheadMessages: max(2_000, 8 * configuration.concurrency),
                   readAheadBytes: 64 << 20,
                   laneWeights: Dictionary(uniqueKeysWithValues: configuration.jobLanes.map { ($0.topic, $0.weight) }))
    }

    /// True once subscribed with a working producer, until draining starts (for /readyz).
    public var isReady: Bool { state.withLock { $0.ready && $0.fatal == nil } }
    /// False once a fatal error stopped the worker (for /healthz).
    public var isHealthy: Bool { state.withLock { $0.fatal == nil } }
    /// Jobs in flight now.
    public var inFlight: Int { state.withLock { $0.jobs.count } }

    public func run() async throws {
        try await KafkaProducer.withProducer(config: configuration.producerKafkaConfig, logger: logger,
                                             closeTimeout: WorkerConfiguration.drainFlushLimit,
                                             onFatal: { [weak self] in self?.stop(fatal: $0) }) { producer in
            warnAboutRevokeBudget()
            let partitions = try await checkTopics(producer)
            let jobPartitions = configuration.jobTopics.reduce(0) { $0 + (partitions[$1] ?? 0) }
            state.withLock { $0.jobPartitions = jobPartitions }
            let follower = try TopicFollower(config: configuration.consumerKafkaConfig, topic: configuration.controlTopic,
                                             partitions: partitions[configuration.controlTopic] ?? 1, logger: logger) { [weak self] message in
                self?.controlMessage(message)
            }
            do {
                try await consumeJobs(producer: producer, follower: follower)
            } catch {
                await follower.close()
                throw error
            }
            await follower.close()
        }
        logger.info("worker stopped")
        if let error = state.withLock({ $0.fatal }) { throw error }
    }

    /// The consumer's scope: subscribe, lease and run jobs until stopped, then flush and commit.
    private func consumeJobs(producer: KafkaProducer, follower: TopicFollower) async throws {
        // Cancels already on the topic apply to the backlog: read them before taking jobs.
        if !(await follower.waitUntilCaughtUp(timeout: .seconds(30))) {
            logger.warning("control topic not read to its end within 30 s; taking jobs anyway", metadata: ["topic": "\(configuration.controlTopic)"])
        }
        let runner = JobRunner(configuration: configuration, publisher: Publisher(producer: producer, metrics: metrics),
                               provider: provider, governor: governor, workerID: workerID, logger: logger)
        try await KafkaConsumer.withConsumer(
            config: configuration.consumerKafkaConfig, logger: logger, limits: flowLimits, commitPromptly: true,
            onFatal: { [weak self] in self?.stop(fatal: $0) },
            statistics: metrics.lagReporter(jobsTopics: Set(configuration.jobTopics)) { [weak self] in
                self?.state.withLock { $0.consumer }?.oldestWaitingTimestampMs
            },
            rebalanceHandler: { [weak self] event in await self?.handleRebalance(event) }
        ) { consumer in
            // A fatal error before this point found no consumer to stop: stop it here.
            if state.withLock({ $0.consumer = consumer; return $0.fatal != nil }) { consumer.stopDelivering() }
            governor.onLeaseLimit { [weak consumer] limit in consumer?.setMaxInFlight(limit) }
            try consumer.subscribe(topics: configuration.jobTopics)
            state.withLock { $0.ready = true }
            logger.info("worker started", metadata: ["topic": "\(configuration.jobLanes.map(\.description).joined(separator: ", "))",
                                                     "concurrency": "\(configuration.concurrency)"])
            await runJobs(consumer, runner: runner)
            state.withLock { $0.ready = false }
            try? await producer.flush(timeout: WorkerConfiguration.drainFlushLimit)
            await commitSettled(consumer, within: WorkerConfiguration.drainCommitLimit)
        }
    }

    /// A revoke holds the poll thread for up to `worker.revoke_grace_ms` plus the wait for cancelled
    /// jobs; longer than `max.poll.interval.ms` and the group drops this member.
    private func warnAboutRevokeBudget() {
        let maxPollMs = configuration.kafka["max.poll.interval.ms"].flatMap { Int($0) } ?? 300_000
        let revokeBudgetMs = (configuration.revokeGrace + WorkerConfiguration.drainFlushLimit).wholeMilliseconds
        if revokeBudgetMs >= maxPollMs {
            logger.warning("worker.revoke_grace_ms + 10 s (\(revokeBudgetMs) ms) is not below kafka.max.poll.interval.ms (\(maxPollMs) ms): a slow revoke can cost this replica its group membership")
        }
    }

    /// Every topic must exist before any job is taken: a missing dead-letter or results topic
    /// would otherwise fail each job at its end, again on every redelivery.
    @discardableResult
    private func checkTopics(_ producer: KafkaProducer) async throws -> [String: Int] {
        let topics = configuration.jobTopics.map { ("topic.jobs", $0) } + [("topic.chunks", configuration.chunksTopic),
                      ("topic.results", configuration.resultsTopic), ("topic.dead_letter", configuration.deadLetterTopic),
                      ("topic.control", configuration.controlTopic)]
        let counts = try await producer.partitionCounts(of: topics.map(\.1))
        for (key, topic) in topics where counts[topic] == nil {
            throw ConfigurationError(key: key, message: "topic '\(topic)' does not exist on the cluster, or these credentials may not see it; create it first")
        }
        return counts
    }

    /// A message on the control topic: remembers a cancel and cancels the job if it runs here.
    private func controlMessage(_ message: ConsumerMessage) {
        guard let control = ControlMessage.decode(message.value) else {
            logger.warning("ignoring a control message that is not one", metadata: [LogKeys.partition: "\(message.partition)", LogKeys.offset: "\(message.offset)"])
            return
        }
        let running = state.withLock { state -> JobCancellation? in
            state.cancels.insert(control.jobID)
            return state.jobsByID[control.jobID].flatMap { state.jobs[$0] }
        }
        if let running {
            logger.info("cancel request for a running job", metadata: [LogKeys.jobID: "\(control.jobID)"])
            running.cancel(byRequest: true)
        }
    }

    /// Leases jobs until shutdown, cancellation or a fatal error, running each as a child task;
    /// then drains them.
    private func runJobs(_ consumer: KafkaConsumer, runner: JobRunner) async {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                while let lease = await consumer.next() {
                    group.addTask { await self.runJob(lease, consumer: consumer, runner: runner) }
                }
            } onGracefulShutdown: {
                self.state.withLock { $0.stopping = true }
                consumer.stopDelivering()
            }
            let failed = state.withLock { $0.fatal != nil }
            logger.info("draining", metadata: ["in_flight": "\(consumer.inFlight)"])
            if !failed && !Task.isCancelled {
                await waitForJobs(on: nil, consumer: consumer, within: configuration.shutdownGrace)
            } else {
                cancelJobs(on: nil)
            }
        }
    }

    /// One job as a child task, with a cancellation handle the revoke and shutdown paths can use.
    private func runJob(_ lease: ConsumerLease, consumer: KafkaConsumer, runner: JobRunner) async {
        let key = JobKey(partition: lease.message.topicPartition, offset: lease.message.offset)
        let cancellation = JobCancellation()
        // Registered and checked under the lock the revoke path cancels under: a lease whose
        // partition began its revoke before this point never starts (another member owns it).
        let registered = state.withLock { state -> Bool in
            guard consumer.isCurrent(lease), state.fatal == nil, !state.stopping else { return false }
            state.jobs[key] = cancellation
            return true
        }
        guard registered else {
            consumer.finish(lease, completed: false)
            return
        }
        metrics.inFlight.increment()
        var completed = false
        let control = JobControl(
            identify: { id in self.identify(id, as: key) },
            cancelledByRequest: { cancellation.isCancelledByRequest })
        do {
            try await cancellation.run { try await runner.process(lease.message, control: control) }
            completed = true
        } catch is CancellationError {
            // Revoked, shut down or stopping: no result stored, so the job is redelivered.
        } catch {
            // The broker refused the result for good: stop rather than move the offset past it.
            self.logger.critical("stopping: \(error)", metadata: [LogKeys.partition: "\(key.partition.partition)", LogKeys.offset: "\(key.offset)"])
            self.stop(fatal: error)
        }
        state.withLock { state in
            state.jobs[key] = nil
            if let id = state.idsByJob.removeValue(forKey: key), state.jobsByID[id] == key { state.jobsByID[id] = nil }
        }
        metrics.inFlight.decrement()
        if !completed, !Task.isCancelled, consumer.isCurrent(lease), state.withLock({ !$0.stopping && $0.fatal == nil }) {
            // Not revoked, not stopping, yet no result: its offset would hold the partition's
            // commits back for good. Stop (the job is redelivered) rather than stall silently.
            stop(fatal: JobEndedWithoutResult(partition: key.partition, offset: key.offset))
        }
        consumer.finish(lease, completed: completed)
    }

    /// Registers a running job's id; true when a cancel request for it already arrived.
    private func identify(_ id: String, as key: JobKey) -> Bool {
        state.withLock { state in
            state.jobsByID[id] = key
            state.idsByJob[key] = id
            return state.cancels.contains(id)
        }
    }

    /// Cancels the running jobs of `partitions` (all when nil); their streams end with `abort`.
    private func cancelJobs(on partitions: Set<TopicPartition>?) {
        let cancellations = state.withLock { state in
            state.jobs.filter { partitions?.contains($0.key.partition) ?? true }.map(\.value)
        }
        if !cancellations.isEmpty { logger.info("cancelling jobs", metadata: ["jobs": "\(cancellations.count)"]) }
        cancellations.forEach { $0.cancel() }
    }

    /// Waits until no job of `partitions` (all when nil) runs, or `grace` has passed; then cancels
    /// what still runs and waits for it to end. Woken by the jobs themselves, not by polling.
    private func waitForJobs(on partitions: Set<TopicPartition>?, consumer: KafkaConsumer, within grace: Duration) async {
        if await idle(on: partitions, consumer: consumer, within: grace) { return }
        cancelJobs(on: partitions)
        // Bounded: a revoke holds the poll thread, and past `max.poll.interval.ms` the member is
        // dropped from the group. Jobs still running afterwards store nothing (their partition moved).
        if !(await idle(on: partitions, consumer: consumer, within: WorkerConfiguration.drainFlushLimit)) {
            logger.warning("cancelled jobs still running after \(WorkerConfiguration.drainFlushLimit)", metadata: ["jobs": "\(consumer.inFlight(on: partitions))"])
        }
    }

    /// True once no job of `partitions` (all when nil) runs, false when `limit` passed first.
    private func idle(on partitions: Set<TopicPartition>?, consumer: KafkaConsumer, within limit: Duration) async -> Bool {
        let clock = self.clock
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await consumer.waitUntilIdle(partitions); return true }
            group.addTask {
                do { try await clock.sleep(for: limit); return false } catch { return true }
            }
            let first = await group.next() ?? true
            group.cancelAll()
            return first && consumer.inFlight(on: partitions) == 0
        }
    }

    /// Runs on the consumer's poll thread's behalf; the rebalance completes when this returns.
    private func handleRebalance(_ event: RebalanceEvent) async {
        guard let consumer = state.withLock({ $0.consumer }) else { return }
        // The provider's budgets follow the assignment: this replica's share of the jobs partitions.
        let jobTopics = Set(configuration.jobTopics)
        var owned = consumer.assignment.filter { jobTopics.contains($0.topic) }
        if case .revoked(let tps) = event { owned.subtract(tps) }
        governor.setShare(assigned: owned.count, total: state.withLock { $0.jobPartitions })
        guard case .revoked(let tps) = event else { return }
        await waitForJobs(on: Set(tps), consumer: consumer, within: configuration.revokeGrace)
        logger.info("revoke drained", metadata: ["partitions": "\(tps.map(\.description).joined(separator: ","))"])
    }

    /// Stops the worker for good (non-zero exit): no more jobs, every running one cancelled.
    private func stop(fatal error: any Error) {
        let consumer = state.withLock { state -> KafkaConsumer? in
            if state.fatal == nil {
                state.fatal = error
                logger.critical("stopping on a fatal error: \(error)")
            }
            return state.consumer
        }
        consumer?.stopDelivering()
        cancelJobs(on: nil)
    }

    /// Commits the stored offsets, waiting while the group rebalances: a SIGTERM that lands during
    /// another member's rebalance otherwise loses the commit and the finished jobs run again.
    private func commitSettled(_ consumer: KafkaConsumer, within limit: Duration) async {
        do {
            try await consumer.commitSettled(within: limit)
        } catch {
            logger.warning("final commit failed", metadata: [LogKeys.error: "\(error)"])
        }
    }

    /// A worker id for this process when `worker.id` is not set: `w` and 6 random characters.
    static func randomID() -> String { "w" + randomToken(length: 6) }

    static func randomToken(length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<length).map { _ in alphabet.randomElement()! })
    }
}

/// A job ended without a result while its partition was still assigned and the worker running.
struct JobEndedWithoutResult: Error, CustomStringConvertible {
    var partition: TopicPartition
    var offset: Int64
    var description: String { "job at \(partition) offset \(offset) ended without a result while its partition is still assigned" }
}

/// Lets one job be cancelled from outside its task (a revoke, a shutdown, a cancel request).
final class JobCancellation: Sendable {
    /// The running job's task. Only touched under the lock, and only while `run` is inside it, so
    /// the task is alive whenever it is cancelled from here.
    private struct RunningTask: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }
    private struct State {
        var cancelled = false
        var byRequest = false
        var running: RunningTask?
    }
    private let state = Mutex(State())

    /// - Parameter byRequest: a cancel request (the job ends with a `cancelled` result), not a
    ///   revoke or shutdown (the job ends without a result, to be redelivered).
    func cancel(byRequest: Bool = false) {
        state.withLock { state in
            if !state.cancelled { state.byRequest = byRequest }
            state.cancelled = true
            state.running?.task.cancel()
        }
    }
    var isCancelledByRequest: Bool { state.withLock { $0.byRequest } }

    /// Runs the job in the calling task, which `cancel` cancels from then on (at once when it came
    /// first). The job runs in the task that the worker's task group made for it, not in a child of
    /// its own: one task less per open stream (issue 11).
    func run<T>(_ job: () async throws -> T) async rethrows -> T {
        withUnsafeCurrentTask { task in
            guard let task else { return }
            state.withLock { state in
                if state.cancelled { task.cancel() } else { state.running = RunningTask(task: task) }
            }
        }
        defer { state.withLock { $0.running = nil } }
        return try await job()
    }
}
