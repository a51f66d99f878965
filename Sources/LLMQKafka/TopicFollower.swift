import CRdKafka
import Logging
import Synchronization

/// Follows every partition of a topic from its beginning, without a consumer group (every replica
/// reads all of it; nothing is committed): for state each replica needs whole, such as the control
/// topic's cancel requests. Messages reach `onMessage` on the follower's own poll thread, in order
/// within each partition. `waitUntilCaughtUp` returns once what the topic held at start is read.
public final class TopicFollower: Sendable {
    private let client: RdKafkaClient
    private let pollThread: PollThread
    private let caughtUp: CaughtUp

    /// - Parameters:
    ///   - config: bootstrap servers and security settings; its `group.id` is replaced by a private
    ///     one that never joins a group (librdkafka's assign needs one).
    ///   - partitions: the topic's partition count.
    public init(config: KafkaConfig, topic: String, partitions: Int, logger: Logger,
                onMessage: @escaping @Sendable (ConsumerMessage) -> Void) throws {
        var config = config
        config["group.id"] = "llmq-follow-\(UInt32.random(in: 0...UInt32.max))"
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        config["enable.partition.eof"] = "true"
        for groupOnly in ["partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
                          "group.instance.id", "statistics.interval.ms"] {
            config[groupOnly] = nil
        }
        let client = try RdKafkaClient(kind: .consumer, config: config, logger: logger)
        rd_kafka_poll_set_consumer(client.handle)
        let list = TopicPartitionList((0..<Int32(partitions)).map {
            TopicPartitionOffset(TopicPartition(topic, $0), offset: Int64(RD_KAFKA_OFFSET_BEGINNING))
        })
        let err = rd_kafka_assign(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: .consumer, err) }
        let caughtUp = CaughtUp(partitions: Set(0..<Int32(partitions)))
        self.client = client
        self.caughtUp = caughtUp
        pollThread = PollThread(name: "llmq-follow") { shouldStop in
            while !shouldStop() {
                caughtUp.expireWaiters(at: .now)
                guard let message = rd_kafka_consumer_poll(client.handle, 100) else { continue }
                let raw = message.pointee
                if raw.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    caughtUp.reached(raw.partition)
                } else if raw.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    onMessage(ConsumerMessage(copying: message))
                } else {
                    client.logger.warning("follower error", metadata: ["topic": "\(topic)", "error": "\(KafkaError(code: .consumer, raw.err).message)"])
                }
                rd_kafka_message_destroy(message)
            }
            rd_kafka_consumer_close(client.handle)
            caughtUp.release()
        }
    }

    /// Returns true once every partition was read to the end it had when following began (or the
    /// follower closed); false when `timeout` passed first.
    public func waitUntilCaughtUp(timeout: Duration) async -> Bool { await caughtUp.wait(until: .now + timeout) }

    /// Stops following. Safe to call more than once.
    public func close() async {
        pollThread.requestStop()
        await pollThread.join()
    }
}

/// Which partitions have not reached their first end yet, and who waits for all of them (each
/// waiter until its deadline, which the poll loop checks on every turn).
private final class CaughtUp: Sendable {
    private struct Waiter {
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Bool, Never>
    }
    private let state: Mutex<(pending: Set<Int32>, waiters: [Waiter])>

    init(partitions: Set<Int32>) { state = Mutex((partitions, [])) }

    func reached(_ partition: Int32) {
        let waiters = state.withLock { state -> [Waiter] in
            state.pending.remove(partition)
            guard state.pending.isEmpty else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.continuation.resume(returning: true) }
    }

    func release() {
        let waiters = state.withLock { state -> [Waiter] in
            state.pending = []
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.continuation.resume(returning: true) }
    }

    func expireWaiters(at now: ContinuousClock.Instant) {
        let expired = state.withLock { state -> [Waiter] in
            guard !state.waiters.isEmpty else { return [] }
            let expired = state.waiters.filter { $0.deadline <= now }
            state.waiters.removeAll { $0.deadline <= now }
            return expired
        }
        expired.forEach { $0.continuation.resume(returning: false) }
    }

    func wait(until deadline: ContinuousClock.Instant) async -> Bool {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.pending.isEmpty { return true }
                state.waiters.append(Waiter(deadline: deadline, continuation: continuation))
                return false
            }
            if done { continuation.resume(returning: true) }
        }
    }
}
