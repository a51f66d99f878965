import CRdKafka
import Dispatch
import Logging
import Synchronization

/// A group consumer: subscribe, take messages as leases (at most `FlowLimits.maxInFlight` out at
/// once), finish each lease (storing its offset once every earlier one is finished), commit, and
/// leave the group on close. Plain readers iterate `messages` instead.
///
/// A dedicated poll thread calls `rd_kafka_consumer_poll` for as long as the consumer is open, also
/// while fetching is paused, so group membership never lapses because the application is busy.
/// Pause and resume follow the read-ahead buffer alone (`ConsumerFlow`).
public final class KafkaConsumer: Sendable {
    private let client: RdKafkaClient
    private let state: ConsumerState
    private let pollThread: PollThread

    /// - Parameters:
    ///   - limits: leases out at once and the read-ahead bound. Default: `FlowLimits.reader`.
    ///   - commitPromptly: commit (asynchronously) as soon as an offset is stored, one commit at a
    ///     time, instead of only on librdkafka's auto-commit timer. Default false.
    ///   - onFatal: called once if librdkafka reports a fatal error.
    ///   - statistics: called on the poll thread with librdkafka's statistics, every `statistics.interval.ms`.
    ///   - onFetching: told whether fetching is on each time the read-ahead bound pauses or resumes it.
    ///   - rebalanceHandler: called for each assignment change before it completes.
    public init(config: KafkaConfig, logger: Logger = Logger(label: "llmq.kafka.consumer"), limits: FlowLimits = .reader,
                commitPromptly: Bool = false, onFatal: (@Sendable (KafkaError) -> Void)? = nil,
                statistics: (any ConsumerStatisticsHandler)? = nil, onFetching: (@Sendable (Bool) -> Void)? = nil,
                rebalanceHandler: RebalanceHandler? = nil) throws {
        var config = config
        config.setDefault("enable.auto.offset.store", "false")
        guard config["group.id"] != nil else {
            throw KafkaError(code: .configuration, message: "kafka.group.id: a group consumer needs group.id")
        }
        // A rebalance that sends this member no callback holds commits at most about one session timeout.
        let sessionTimeoutMs = config["session.timeout.ms"].flatMap { Int($0) } ?? 45_000
        let state = ConsumerState(limits: limits, handler: rebalanceHandler, commitPromptly: commitPromptly,
                                  commitHold: .milliseconds(min(max(sessionTimeoutMs, 5_000), 60_000)), onFetching: onFetching)
        if commitPromptly {
            // librdkafka reports the group's join state only in its `cgrp` debug log; prompt commits
            // must know it (CommitSchedule). The extra lines are dropped unless logging at debug.
            let debug = config["debug"].map { $0.split(separator: ",").map(String.init) } ?? []
            if !debug.contains("cgrp") && !debug.contains("all") { config["debug"] = (debug + ["cgrp"]).joined(separator: ",") }
        }
        var callbacks = ClientCallbacks()
        callbacks.rebalance = { client, err, partitions in state.handleRebalance(client: client, err: err, partitions: partitions) }
        callbacks.offsetCommit = { err in state.commitReturned(err) }
        callbacks.fatal = onFatal
        if commitPromptly { callbacks.joinState = { steady in state.joinStateChanged(steady: steady) } }
        callbacks.statistics = Self.statisticsCallback(statistics)
        let client = try RdKafkaClient(kind: .consumer, config: config, logger: logger, callbacks: callbacks)
        rd_kafka_poll_set_consumer(client.handle)
        state.attach(client)
        self.client = client
        self.state = state
        pollThread = PollThread(name: "llmq-consumer-poll") { [state, client] shouldStop in
            while !shouldStop() {
                state.tick()
                guard let message = rd_kafka_consumer_poll(client.handle, 100) else { continue }
                state.receive(message, logger: client.logger)
                rd_kafka_message_destroy(message)
            }
            // Leaves the group: runs the final revoke through the rebalance handler and commits.
            let err = rd_kafka_consumer_close(client.handle)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                client.logger.warning("consumer close", metadata: ["error": "\(KafkaError(code: .consumer, err).message)"])
            }
            state.finish()
        }
    }

    private static func statisticsCallback(_ handler: (any ConsumerStatisticsHandler)?) -> (@Sendable (ConsumerStatistics) -> Void)? {
        guard let handler else { return nil }
        return { handler.statisticsReported($0) }
    }

    /// Runs `body` with a consumer and closes it afterwards, also when `body` (or subscribing) throws,
    /// so its poll thread never outlives the scope.
    public static func withConsumer<T>(
        config: KafkaConfig, logger: Logger, limits: FlowLimits = .reader, commitPromptly: Bool = false,
        onFatal: (@Sendable (KafkaError) -> Void)? = nil, statistics: (any ConsumerStatisticsHandler)? = nil,
        onFetching: (@Sendable (Bool) -> Void)? = nil, rebalanceHandler: RebalanceHandler? = nil,
        _ body: (KafkaConsumer) async throws -> T
    ) async throws -> T {
        let consumer = try KafkaConsumer(config: config, logger: logger, limits: limits, commitPromptly: commitPromptly,
                                         onFatal: onFatal, statistics: statistics, onFetching: onFetching,
                                         rebalanceHandler: rebalanceHandler)
        do {
            let result = try await body(consumer)
            await consumer.close()
            return result
        } catch {
            await consumer.close()
            throw error
        }
    }

    /// Subscribes to `topics` (replacing any earlier subscription).
    public func subscribe(topics: [String]) throws {
        let list = TopicPartitionList(topics.map { TopicPartition($0, RD_KAFKA_PARTITION_UA) })
        let err = rd_kafka_subscribe(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: .consumer, err) }
    }

    /// The next message, once one is fetched and fewer than `maxInFlight` leases are out. Nil once
    /// the consumer stops delivering (`stopDelivering`, close) or the task is cancelled.
    /// One caller at a time.
    public func next() async -> ConsumerLease? { await state.next() }

    /// Ends a lease. When `completed` (the message's work is done for good), its offset is stored
    /// once every earlier lease of its partition is completed too.
    public func finish(_ lease: ConsumerLease, completed: Bool) { state.finish(lease, completed: completed) }

    /// Changes how many leases may be out at once (at least 1). Lowering it hands out no new lease
    /// until enough finish; the read-ahead then fills and fetching pauses, as for a full worker.
    public func setMaxInFlight(_ limit: Int) { state.setMaxInFlight(limit) }

    /// False once the lease's partition is being revoked or has been (even when assigned again since:
    /// the new assignment refetches from the committed offset).
    public func isCurrent(_ lease: ConsumerLease) -> Bool { state.isCurrent(lease) }

    /// Returns once no lease is out on `partitions` (all when nil), or the task is cancelled.
    public func waitUntilIdle(_ partitions: Set<TopicPartition>? = nil) async { await state.waitUntilIdle(partitions) }

    /// No more leases; leases out may still finish and store their offsets.
    public func stopDelivering() { state.stopDelivering() }

    /// Messages for plain readers: each is leased and finished at once, without storing its offset.
    public var messages: ConsumerMessages { ConsumerMessages(consumer: self) }

    /// Messages fetched and not yet leased (bounded by the read-ahead limits, plus what was in flight).
    public var bufferedMessageCount: Int { state.bufferedCount }

    /// Leases out now.
    public var inFlight: Int { state.inFlight }

    /// The Kafka timestamp (ms since the epoch) of the oldest fetched job waiting for a lease.
    public var oldestWaitingTimestampMs: Int64? { state.oldestWaitingTimestampMs }

    /// Leases out now on `partitions` (all when nil).
    public func inFlight(on partitions: Set<TopicPartition>?) -> Int { state.inFlight(on: partitions) }

    /// False while fetching is paused because the read-ahead buffer is full.
    public var isFetching: Bool { state.isFetching }

    /// Partitions currently assigned to this member (including ones whose revoke is under way).
    public var assignment: Set<TopicPartition> { state.assignment }

    /// Stores next-offsets to be committed (automatically, or by `commit()` / close / revoke).
    /// Offsets of partitions no longer assigned are skipped: their new owner decides.
    public func storeOffsets(_ offsets: [TopicPartitionOffset]) throws {
        let assigned = state.assignment
        let owned = offsets.filter { assigned.contains($0.topicPartition) }
        guard !owned.isEmpty else { return }
        let list = TopicPartitionList(owned)
        let err = rd_kafka_offsets_store(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: .consumer, err)
        }
        if let partitionError = list.firstError() {
            throw KafkaError(code: .consumer, partitionError)
        }
    }

    /// Commits the stored offsets and waits for the broker's answer.
    public func commit() async throws {
        let client = self.client
        let err = await runBlocking { rd_kafka_commit(client.handle, nil, 0) }
        // _NO_OFFSET: nothing new was stored since the last commit.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError(code: .commit, err)
        }
    }

    /// Commits the stored offsets and waits for the answer, but never while the group rebalances
    /// (a commit then can make librdkafka drop the assignment and every stored offset): waits for
    /// the rebalance to complete first. Throws at `limit` or on an error that waiting cannot cure.
    public func commitSettled(within limit: Duration) async throws {
        try await state.commitSettled(until: .now + limit)
    }

    /// The group's committed next-offsets for these partitions (`-1001` when none).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws -> [TopicPartitionOffset] {
        let client = self.client
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        return try await runBlocking { () -> Result<[TopicPartitionOffset], KafkaError> in
            let list = TopicPartitionList(partitions)
            let err = rd_kafka_committed(client.handle, list.pointer, ms)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { return .failure(KafkaError(code: .consumer, err)) }
            return .success(list.offsets)
        }.get()
    }

    /// A fatal error reported by librdkafka; the consumer must be recreated.
    public var fatalError: KafkaError? { client.fatalError }

    /// Leaves the group: the final revoke runs through the rebalance handler, stored offsets are
    /// committed, and `next` returns nil from then on. Safe to call more than once.
    public func close() async {
        pollThread.requestStop()
        await pollThread.join()
    }
}

/// The messages of a consumer for plain readers (no offsets stored), as an async sequence.
public struct ConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = ConsumerMessage
    let consumer: KafkaConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        public mutating func next() async -> ConsumerMessage? {
            guard let lease = await consumer.next() else { return nil }
            consumer.finish(lease, completed: false)
            return lease.message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}
