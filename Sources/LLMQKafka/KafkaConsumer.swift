import CRdKafka
import Dispatch
import Logging
import Synchronization

/// A group consumer: subscribe, read messages as an async sequence, pause/resume partitions,
/// store offsets explicitly (`enable.auto.offset.store=false`), commit, and leave the group on close.
///
/// A dedicated poll thread calls `rd_kafka_consumer_poll` for as long as the consumer is open, also
/// while every partition is paused, so group membership never lapses because the application is busy.
public final class KafkaConsumer: Sendable {
    private let client: RdKafkaClient
    private let state: ConsumerState
    private let stream: AsyncStream<ConsumerMessage>
    private let pollThread: PollThread

    /// - Parameters:
    ///   - maxBufferedMessages: fetched messages not yet read above which fetching pauses (memory
    ///     stays bounded however large the backlog). Default 1000.
    ///   - rebalanceHandler: called for each assignment change before it completes.
    ///   - statistics: called on the poll thread with librdkafka's statistics, every `statistics.interval.ms`.
    public init(config: KafkaConfig, logger: Logger = Logger(label: "llmq.kafka.consumer"), maxBufferedMessages: Int = 1000,
                statistics: (any ConsumerStatisticsHandler)? = nil,
                rebalanceHandler: RebalanceHandler? = nil) throws {
        var config = config
        config.setDefault("enable.auto.offset.store", "false")
        guard config["group.id"] != nil else {
            throw KafkaError(code: .configuration, message: "kafka.group.id: a group consumer needs group.id")
        }
        let (stream, continuation) = AsyncStream.makeStream(of: ConsumerMessage.self)
        let state = ConsumerState(continuation: continuation, handler: rebalanceHandler, maxBuffered: maxBufferedMessages)
        let client = try RdKafkaClient(kind: .consumer, config: config, logger: logger) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
                guard let opaque, let partitions else { return }
                let client = Unmanaged<RdKafkaClient>.fromOpaque(opaque).takeUnretainedValue()
                client.rebalance?(err, partitions)
            }
            if statistics != nil { RdKafkaClient.installStatisticsCallback(on: conf) }
        }
        if let statistics { client.statistics = { statistics.statisticsReported($0) } }
        rd_kafka_poll_set_consumer(client.handle)
        state.attach(client)
        self.client = client
        self.state = state
        self.stream = stream
        client.rebalance = { [state, weak client] err, partitions in
            guard let client else { return }
            state.handleRebalance(client: client, err: err, partitions: partitions)
        }
        pollThread = PollThread(name: "llmq-consumer-poll") { [state, client] shouldStop in
            while !shouldStop() {
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

    /// Subscribes to `topics` (replacing any earlier subscription).
    public func subscribe(topics: [String]) throws {
        let list = TopicPartitionList(topics.map { TopicPartition($0, RD_KAFKA_PARTITION_UA) })
        let err = rd_kafka_subscribe(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: .consumer, err) }
    }

    /// Messages of the current assignment. One iterator at a time. Messages fetched under an earlier
    /// assignment of a partition that has since been revoked are dropped: another member owns them.
    public var messages: ConsumerMessages { ConsumerMessages(base: stream, state: state) }

    /// False once the message's partition has been revoked since it was fetched (even when it has
    /// been assigned again since: the new assignment refetches from the committed offset).
    public func isCurrent(_ message: ConsumerMessage) -> Bool { state.isCurrent(message) }

    /// Messages fetched and not yet read (bounded by `maxBufferedMessages`, plus what was in flight).
    public var bufferedMessageCount: Int { state.bufferedCount }

    /// Partitions currently assigned to this member.
    public var assignment: Set<TopicPartition> { state.assignment }

    /// Stops fetching from these partitions; the poll loop (and group membership) goes on.
    public func pause(_ partitions: [TopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        let err = state.applicationPause(partitions)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: .consumer, err) }
    }

    /// Resumes fetching from these partitions (unless too many fetched messages are still unread).
    public func resume(_ partitions: [TopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        let err = state.applicationResume(partitions)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: .consumer, err) }
    }

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
        let handle = ConsumerHandle(client)
        let err = await runBlocking { rd_kafka_commit(handle.client.handle, nil, 0) }
        // _NO_OFFSET: nothing new was stored since the last commit.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError(code: .commit, err)
        }
    }

    /// The group's committed next-offsets for these partitions (`-1001` when none).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws -> [TopicPartitionOffset] {
        let handle = ConsumerHandle(client)
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        return try await runBlocking { () -> Result<[TopicPartitionOffset], KafkaError> in
            let list = TopicPartitionList(partitions)
            let err = rd_kafka_committed(handle.client.handle, list.pointer, ms)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { return .failure(KafkaError(code: .consumer, err)) }
            var result: [TopicPartitionOffset] = []
            for i in 0..<Int(list.pointer.pointee.cnt) {
                let e = list.pointer.pointee.elems[i]
                result.append(TopicPartitionOffset(TopicPartition(String(cString: e.topic), e.partition), offset: e.offset))
            }
            return .success(result)
        }.get()
    }

    /// A fatal error reported by librdkafka; the consumer must be recreated.
    public var fatalError: KafkaError? { client.fatalError }

    /// Leaves the group: the final revoke runs through the rebalance handler, stored offsets are
    /// committed, and the message sequence ends. Safe to call more than once.
    public func close() async {
        pollThread.requestStop()
        await pollThread.join()
    }
}

/// Lets the consumer's client cross into a blocking closure. Safe: librdkafka handles are thread-safe.
private struct ConsumerHandle: @unchecked Sendable {
    let client: RdKafkaClient
    init(_ client: RdKafkaClient) { self.client = client }
}

/// The async sequence of a consumer's messages.
public struct ConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = ConsumerMessage
    let base: AsyncStream<ConsumerMessage>
    let state: ConsumerState

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<ConsumerMessage>.AsyncIterator
        let state: ConsumerState
        public mutating func next() async -> ConsumerMessage? {
            while let message = await base.next() {
                state.didTake()
                if state.isCurrent(message) { return message }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), state: state)
    }
}
