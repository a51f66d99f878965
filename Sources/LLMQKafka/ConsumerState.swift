import CRdKafka
import Dispatch
import Logging
import Synchronization

/// What the consumer's poll thread and its readers share: the assignment, with a generation per
/// partition so messages fetched under an earlier assignment can be told apart, and the stream.
final class ConsumerState: Sendable {
    private struct Assignment {
        /// Partitions whose messages are accepted, with the assignment they were fetched under.
        var generations: [TopicPartition: UInt64] = [:]
        var nextGeneration: UInt64 = 1
        /// Partitions this member owns: includes revoked ones until their revoke has completed, so
        /// work finished while a revoke drains can still store its offsets.
        var owned: Set<TopicPartition> = []
    }

    /// Bounds the messages fetched but not yet read: above `maxBuffered` the poll thread pauses
    /// fetching (it keeps polling, so the group is still served); below half of it fetching resumes,
    /// except for partitions the application paused.
    private struct Flow {
        var buffered = 0
        var bufferFull = false
        var applicationPaused: Set<TopicPartition> = []
    }

    private let assignmentState = Mutex(Assignment())
    private let flow = Mutex(Flow())
    private let continuation: AsyncStream<ConsumerMessage>.Continuation
    private let handler: RebalanceHandler?
    private let maxBuffered: Int
    /// Set once the client exists; weak because the client's callbacks reach this state.
    private let clientReference = Mutex<WeakClient>(WeakClient())

    init(continuation: AsyncStream<ConsumerMessage>.Continuation, handler: RebalanceHandler?, maxBuffered: Int) {
        self.continuation = continuation
        self.handler = handler
        self.maxBuffered = max(1, maxBuffered)
    }

    func attach(_ client: RdKafkaClient) { clientReference.withLock { $0.client = client } }

    /// The application pauses partitions (they stay paused whatever the buffer does).
    func applicationPause(_ partitions: [TopicPartition]) -> rd_kafka_resp_err_t {
        flow.withLock { $0.applicationPaused.formUnion(partitions) }
        return setFetching(partitions, paused: true)
    }

    /// The application resumes partitions; fetching restarts unless the buffer is full.
    func applicationResume(_ partitions: [TopicPartition]) -> rd_kafka_resp_err_t {
        let bufferFull = flow.withLock { state -> Bool in
            state.applicationPaused.subtract(partitions)
            return state.bufferFull
        }
        return bufferFull ? RD_KAFKA_RESP_ERR_NO_ERROR : setFetching(partitions, paused: false)
    }

    /// A reader took a message from the buffer (current or stale).
    func didTake() {
        let resume = flow.withLock { state -> [TopicPartition]? in
            state.buffered -= 1
            guard state.bufferFull, state.buffered <= maxBuffered / 2 else { return nil }
            state.bufferFull = false
            return Array(assignment.subtracting(state.applicationPaused))
        }
        if let resume { _ = setFetching(resume, paused: false) }
    }

    /// On the poll thread, after buffering a message.
    private func didBuffer() {
        let pause = flow.withLock { state -> Bool in
            state.buffered += 1
            guard !state.bufferFull, state.buffered >= maxBuffered else { return false }
            state.bufferFull = true
            return true
        }
        if pause { _ = setFetching(Array(assignment), paused: true) }
    }

    private var bufferFull: Bool { flow.withLock { $0.bufferFull } }

    /// Messages fetched and not yet read.
    var bufferedCount: Int { flow.withLock { $0.buffered } }

    private func setFetching(_ partitions: [TopicPartition], paused: Bool) -> rd_kafka_resp_err_t {
        guard !partitions.isEmpty, let client = clientReference.withLock({ $0.client }) else { return RD_KAFKA_RESP_ERR_NO_ERROR }
        let list = TopicPartitionList(partitions)
        return paused ? rd_kafka_pause_partitions(client.handle, list.pointer) : rd_kafka_resume_partitions(client.handle, list.pointer)
    }

    var assignment: Set<TopicPartition> { assignmentState.withLock { $0.owned } }

    func isCurrent(_ message: ConsumerMessage) -> Bool {
        assignmentState.withLock { $0.generations[message.topicPartition] == message.assignmentGeneration }
    }

    /// On the poll thread: converts a polled message (or error event) and yields it.
    func receive(_ pointer: UnsafeMutablePointer<rd_kafka_message_t>, logger: Logger) {
        let raw = pointer.pointee
        if raw.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if raw.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                logger.warning("consumer error", metadata: ["error": "\(KafkaError(code: .consumer, raw.err).message)"])
            }
            return
        }
        let topic = String(cString: rd_kafka_topic_name(raw.rkt))
        let tp = TopicPartition(topic, raw.partition)
        let generation = assignmentState.withLock { $0.generations[tp] ?? 0 }
        continuation.yield(ConsumerMessage(copying: pointer, assignmentGeneration: generation))
        didBuffer()
    }

    /// On the poll thread, inside librdkafka's rebalance callback: tells the handler, waits for it,
    /// then completes the assignment change (committing stored offsets before giving partitions up).
    func handleRebalance(client: RdKafkaClient, err: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let rk = client.handle
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        let list = TopicPartitionList.partitions(of: partitions)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            assignmentState.withLock { state in
                if !cooperative { state.generations.removeAll(); state.owned.removeAll() }
                for tp in list {
                    state.generations[tp] = state.nextGeneration
                    state.nextGeneration += 1
                    state.owned.insert(tp)
                }
            }
            client.logger.info("partitions assigned", metadata: ["partitions": "\(list.map(\.description).joined(separator: ","))"])
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) {
                    client.logger.error("incremental assign failed", metadata: ["error": "\(KafkaError(code: .consumer, consuming: error).message)"])
                }
            } else {
                rd_kafka_assign(rk, partitions)
            }
            if bufferFull { _ = setFetching(list, paused: true) }
            // After assigning, so the handler may pause the new partitions; their messages can only
            // be polled by this thread once the callback returns.
            notify(.assigned(list))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            // Drop messages already fetched for these partitions: from now on they belong to someone else.
            assignmentState.withLock { state in
                for tp in list { state.generations[tp] = nil }
            }
            client.logger.info("partitions revoked", metadata: ["partitions": "\(list.map(\.description).joined(separator: ","))"])
            notify(.revoked(list))
            let commitErr = rd_kafka_commit(rk, nil, 0)
            if commitErr != RD_KAFKA_RESP_ERR_NO_ERROR && commitErr != RD_KAFKA_RESP_ERR__NO_OFFSET {
                client.logger.warning("commit on revoke failed", metadata: ["error": "\(KafkaError(code: .commit, commitErr).message)"])
            }
            assignmentState.withLock { state in
                for tp in list { state.owned.remove(tp) }
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) {
                    client.logger.error("incremental unassign failed", metadata: ["error": "\(KafkaError(code: .consumer, consuming: error).message)"])
                }
            } else {
                rd_kafka_assign(rk, nil)
            }
        default:
            client.logger.error("rebalance error", metadata: ["error": "\(KafkaError(code: .consumer, err).message)"])
            assignmentState.withLock { $0.generations.removeAll(); $0.owned.removeAll() }
            rd_kafka_assign(rk, nil)
        }
    }

    /// Runs the async handler and blocks the poll thread (never a cooperative thread) until it returns.
    private func notify(_ event: RebalanceEvent) {
        guard let handler else { return }
        let done = DispatchSemaphore(value: 0)
        Task {
            await handler(event)
            done.signal()
        }
        done.wait()
    }

    func finish() { continuation.finish() }
}

/// A weak reference that can live in a Mutex.
private struct WeakClient: @unchecked Sendable {
    // @unchecked: only read and written under the Mutex that holds it.
    weak var client: RdKafkaClient?
}
