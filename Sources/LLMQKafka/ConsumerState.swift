import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization

/// What the consumer's poll thread and the application share: the `ConsumerFlow` state machine,
/// the reader waiting for a lease, tasks waiting for partitions to go idle, and the commit in flight.
///
/// Every flow event and the librdkafka calls its actions ask for (pause, resume, offset store) run
/// under one lock, so they reach librdkafka in the order they were decided: a resume can never
/// overtake the pause it follows. Those calls only enqueue work inside librdkafka; none blocks.
final class ConsumerState: Sendable {
    private struct Locked {
        var flow: ConsumerFlow
        var reader: CheckedContinuation<ConsumerLease?, Never>?
        var idleWaiters: [IdleWaiter] = []
        var nextWaiterID: UInt64 = 0
        var stopped = false
        /// What `onFetching` was last told.
        var reportedFetching = true
    }

    private struct IdleWaiter {
        var id: UInt64
        var partitions: Set<TopicPartition>?
        var continuation: CheckedContinuation<Void, Never>
    }

    private let locked: Mutex<Locked>
    private let handler: RebalanceHandler?
    private let commitPromptly: Bool
    /// Set once the client exists; weak because the client's callbacks reach this state.
    private let clientReference = Mutex<WeakClient>(WeakClient())

    /// - Parameter commitHold: how long commits stay held in a rebalance that sends this member no callback.
    /// Told whether fetching is on, each time the flow pauses or resumes it (under the flow's lock: keep it cheap).
    private let onFetching: (@Sendable (Bool) -> Void)?

    init(limits: FlowLimits, handler: RebalanceHandler?, commitPromptly: Bool, commitHold: Duration,
         onFetching: (@Sendable (Bool) -> Void)? = nil) {
        self.onFetching = onFetching
        locked = Mutex(Locked(flow: ConsumerFlow(limits: limits)))
        schedule = Mutex(CommitSchedule(hold: commitHold))
        self.handler = handler
        self.commitPromptly = commitPromptly
    }

    func attach(_ client: RdKafkaClient) { clientReference.withLock { $0.client = client } }

    private var client: RdKafkaClient? { clientReference.withLock { $0.client } }

    // MARK: The application's side

    /// The next lease: at once when a message waits and a lease is free, else when one does.
    /// Nil once the consumer stopped delivering, or when the task is cancelled.
    func next() async -> ConsumerLease? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = update { state -> ConsumerLease?? in
                    if state.stopped || Task.isCancelled { return .some(nil) }
                    let (lease, actions) = state.flow.lease()
                    apply(actions)
                    if let lease { return .some(lease) }
                    state.reader = continuation
                    return .none
                }
                if case .some(let lease) = immediate { continuation.resume(returning: lease) }
            }
        } onCancel: {
            let reader = locked.withLock { state in
                defer { state.reader = nil }
                return state.reader
            }
            reader?.resume(returning: nil)
        }
    }

    /// The lease ended; when `completed`, its offset may be stored.
    func finish(_ lease: ConsumerLease, completed: Bool) {
        update { state in
            apply(state.flow.finished(lease, completed: completed))
        }
    }

    /// Changes the lease limit; a raised limit hands a waiting reader its lease at once.
    func setMaxInFlight(_ limit: Int) {
        update { state in apply(state.flow.setMaxInFlight(limit)) }
    }

    func isCurrent(_ lease: ConsumerLease) -> Bool { locked.withLock { $0.flow.isCurrent(lease) } }

    /// Returns once no lease is out on `partitions` (all when nil), or the task is cancelled.
    func waitUntilIdle(_ partitions: Set<TopicPartition>?) async {
        let id = locked.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let idle = locked.withLock { state -> Bool in
                    if state.flow.inFlight(on: partitions) == 0 || Task.isCancelled { return true }
                    state.idleWaiters.append(IdleWaiter(id: id, partitions: partitions, continuation: continuation))
                    return false
                }
                if idle { continuation.resume() }
            }
        } onCancel: {
            let waiter = locked.withLock { state -> IdleWaiter? in
                guard let index = state.idleWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.idleWaiters.remove(at: index)
            }
            waiter?.continuation.resume()
        }
    }

    /// No more leases: the waiting reader (and every later `next`) gets nil. Leases out may still finish.
    func stopDelivering() {
        let reader = locked.withLock { state in
            state.stopped = true
            defer { state.reader = nil }
            return state.reader
        }
        reader?.resume(returning: nil)
    }

    var assignment: Set<TopicPartition> { locked.withLock { $0.flow.assignment } }
    var bufferedCount: Int { locked.withLock { $0.flow.bufferedCount } }
    var inFlight: Int { locked.withLock { $0.flow.inFlight } }
    func inFlight(on partitions: Set<TopicPartition>?) -> Int { locked.withLock { $0.flow.inFlight(on: partitions) } }
    var isFetching: Bool { locked.withLock { $0.flow.fetching } }

    // MARK: The poll thread's side

    /// On the poll thread: converts a polled message (or error event) and hands it to the flow.
    func receive(_ pointer: UnsafeMutablePointer<rd_kafka_message_t>, logger: Logger) {
        let raw = pointer.pointee
        if raw.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if raw.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                logger.warning("consumer error", metadata: ["error": "\(KafkaError(code: .consumer, raw.err).message)"])
            }
            return
        }
        let message = ConsumerMessage(copying: pointer)
        update { state in
            apply(state.flow.received(message))
        }
    }

    /// The Kafka timestamp of the oldest message waiting for a lease.
    var oldestWaitingTimestampMs: Int64? { locked.withLock { $0.flow.oldestWaitingTimestampMs } }

    /// On the poll thread, inside librdkafka's rebalance callback: tells the handler, waits for it,
    /// then completes the assignment change (committing stored offsets before giving partitions up).
    func handleRebalance(client: RdKafkaClient, err: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let rk = client.handle
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        let list = TopicPartitionList.partitions(of: partitions)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let resumed = resumeAfterLostCommits(client, partitions)
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) {
                    client.logger.error("incremental assign failed", metadata: ["error": "\(KafkaError(code: .consumer, consuming: error).message)"])
                }
            } else {
                rd_kafka_assign(rk, partitions)
            }
            // After librdkafka assigned them, so a pause applies; no message of theirs can be
            // polled before this callback returns, as this is the polling thread.
            update { state in apply(state.flow.assigned(list) + resumed.map { .store($0) }) }
            client.logger.info("partitions assigned", metadata: ["partitions": "\(list.map(\.description).joined(separator: ","))"])
            notify(.assigned(list))
            rebalanceEnded { $0.assigned(at: .now) }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            schedule.withLock { $0.revoking(cooperative: cooperative, at: .now) }
            update { state in apply(state.flow.revoking(list)) }
            client.logger.info("partitions revoked", metadata: ["partitions": "\(list.map(\.description).joined(separator: ","))"])
            notify(.revoked(list))
            if rd_kafka_assignment_lost(rk) == 0 {
                commitBeforeRevoke(client)
                // Given up in good order: whatever happens to them next is the group's to say.
                lastStored.withLock { stored in for tp in list { stored[tp] = nil } }
            } else {
                // librdkafka dropped the stored offsets with the assignment (after a commit or sync
                // answered ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID): what finished since the last
                // commit runs again wherever these partitions go (or resumes here if they come back).
                client.logger.warning("assignment lost: offsets stored since the last commit are dropped; finished jobs past them may run again",
                                      metadata: ["partitions": "\(list.map(\.description).joined(separator: ","))"])
            }
            update { state in apply(state.flow.revoked(list)) }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) {
                    client.logger.error("incremental unassign failed", metadata: ["error": "\(KafkaError(code: .consumer, consuming: error).message)"])
                }
            } else {
                rd_kafka_assign(rk, nil)
            }
        default:
            client.logger.error("rebalance error", metadata: ["error": "\(KafkaError(code: .consumer, err).message)"])
            update { state in apply(state.flow.revokedAll()) }
            rd_kafka_assign(rk, nil)
            rebalanceEnded { $0.assigned(at: .now) }
        }
    }

    /// Sets where partitions assigned (back) to this member start: past the jobs it finished and
    /// stored itself when those offsets never reached the group. librdkafka 2.0.2 drops every
    /// stored offset when it declares an assignment lost (a commit answered ILLEGAL_GENERATION in a
    /// rebalance); without this the member would redo those jobs when the same partitions come back.
    /// Never below the committed offset: whatever another member committed since stands.
    /// Returns the offsets to store again.
    private func resumeAfterLostCommits(_ client: RdKafkaClient,
                                        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartitionOffset] {
        let stored = lastStored.withLock { $0 }
        guard !stored.isEmpty else { return [] }
        let candidates = TopicPartitionList.partitions(of: partitions).filter { stored[$0] != nil }
        guard !candidates.isEmpty else { return [] }
        let query = TopicPartitionList(candidates)
        // On the poll thread, inside the callback: librdkafka's own thread answers this.
        guard rd_kafka_committed(client.handle, query.pointer, 5_000) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [] }
        var resumed: [TopicPartitionOffset] = []
        for committed in query.offsets {
            guard let mine = stored[committed.topicPartition], mine > committed.offset else { continue }
            for i in 0..<Int(partitions.pointee.cnt) {
                let element = partitions.pointee.elems[i]
                if element.partition == committed.topicPartition.partition, String(cString: element.topic) == committed.topicPartition.topic {
                    partitions.pointee.elems[i].offset = mine
                }
            }
            resumed.append(TopicPartitionOffset(committed.topicPartition, offset: mine))
            client.logger.info("resuming past jobs finished here whose commit was lost",
                               metadata: ["partition": "\(committed.topicPartition)", "committed": "\(committed.offset)", "offset": "\(mine)"])
        }
        return resumed
    }

    /// Commits what the revoked partitions' finished jobs stored, retrying briefly while the group
    /// is settling (the commit otherwise fails with REBALANCE_IN_PROGRESS and the work repeats).
    private func commitBeforeRevoke(_ client: RdKafkaClient) {
        for attempt in 1...5 {
            let err = rd_kafka_commit(client.handle, nil, 0)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
            let error = KafkaError(code: .commit, err)
            guard error.isTransientGroupError, attempt < 5 else {
                client.logger.warning("commit on revoke failed", metadata: ["error": "\(error.message)"])
                return
            }
            // On the poll thread, which waits here anyway; the coordinator answers meanwhile.
            Thread.sleep(forTimeInterval: 0.1 * Double(attempt))
        }
    }

    /// From librdkafka's log: the group's join state changed.
    func joinStateChanged(steady: Bool) {
        sendCommitIf { $0.joinState(steady: steady, at: .now) }
    }

    /// On the poll thread: an asynchronous commit returned. Starts the next one if more was stored
    /// meanwhile, unless the group is rebalancing (`CommitSchedule`).
    func commitReturned(_ err: rd_kafka_resp_err_t) {
        let rebalancing = KafkaError(code: .commit, err).isRebalanceCommitError
        if rebalancing { client?.logger.debug("commits held while the group rebalances") }
        sendCommitIf { $0.returned(rebalancing: rebalancing, at: .now) }
    }

    /// On the poll thread, every turn of the loop: sends a held commit once the hold has passed.
    func tick() {
        sendCommitIf { $0.tick(at: .now) }
        expireRebalanceWaiters()
    }

    /// Commits what is stored and waits for the answer, never while the group is rebalancing:
    /// waits for the rebalance to complete (or the hold to pass) first, and again when the commit
    /// is refused because a rebalance began. Gives up at `deadline` or when the task is cancelled.
    func commitSettled(until deadline: ContinuousClock.Instant) async throws {
        while true {
            while schedule.withLock({ $0.isHeld(at: .now) }) && ContinuousClock.now < deadline {
                try Task.checkCancellation()
                await waitForRebalanceEnd(until: min(deadline, .now + .milliseconds(200)))
            }
            guard let client else { return }
                        let err = await runBlocking { rd_kafka_commit(client.handle, nil, 0) }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
            let error = KafkaError(code: .commit, err)
            guard error.isRebalanceCommitError || error.isTransientGroupError, ContinuousClock.now < deadline else { throw error }
            try Task.checkCancellation()
            schedule.withLock { _ = $0.returned(rebalancing: true, at: .now) }
        }
    }

    /// Returns at the end of the next rebalance callback, or at `deadline` (checked by the poll
    /// loop on every turn, as the hold itself is).
    private func waitForRebalanceEnd(until deadline: ContinuousClock.Instant) async {
        await withCheckedContinuation { continuation in
            let pollEnded = rebalanceWaiters.withLock { list -> Bool in
                if pollLoopEnded.load(ordering: .acquiring) { return true }
                list.append((deadline, continuation))
                return false
            }
            if pollEnded { continuation.resume() }
        }
    }

    /// On the poll thread: releases rebalance waiters whose deadline passed.
    private func expireRebalanceWaiters() {
        let now = ContinuousClock.now
        let expired = rebalanceWaiters.withLock { list -> [CheckedContinuation<Void, Never>] in
            guard !list.isEmpty else { return [] }
            let expired = list.filter { $0.deadline <= now }.map(\.continuation)
            list.removeAll { $0.deadline <= now }
            return expired
        }
        expired.forEach { $0.resume() }
    }

    /// An assign callback finished: commits may flow again (unless a cooperative revoke's second
    /// round is still to come), and a waiting final commit looks again.
    private func rebalanceEnded(_ decide: (inout CommitSchedule) -> Bool) {
        sendCommitIf(decide)
        let waiters = rebalanceWaiters.withLock { list in
            defer { list.removeAll() }
            return list.map(\.continuation)
        }
        waiters.forEach { $0.resume() }
    }

    private func sendCommitIf(_ decide: (inout CommitSchedule) -> Bool) {
        guard schedule.withLock({ decide(&$0) }), let client else { return }
        _ = rd_kafka_commit(client.handle, nil, 1)
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

    /// The poll loop ended: the reader and every idle waiter are released.
    func finish() {
        let (reader, waiters) = locked.withLock { state in
            state.stopped = true
            defer { state.reader = nil; state.idleWaiters = [] }
            return (state.reader, state.idleWaiters)
        }
        reader?.resume(returning: nil)
        waiters.forEach { $0.continuation.resume() }
        let rebalance = rebalanceWaiters.withLock { list in
            pollLoopEnded.store(true, ordering: .releasing)
            defer { list.removeAll() }
            return list.map(\.continuation)
        }
        rebalance.forEach { $0.resume() }
    }

    // MARK: Applying the flow's actions

    /// Runs a flow event under the lock; afterwards hands a lease to the waiting reader and wakes
    /// idle waiters, outside the lock.
    @discardableResult
    private func update<T>(_ body: (inout Locked) -> T) -> T {
        let (value, reader, lease, idle) = locked.withLock { state in
            let value = body(&state)
            var reader: CheckedContinuation<ConsumerLease?, Never>?
            var lease: ConsumerLease?
            if state.reader != nil, state.flow.canLease {
                let (next, actions) = state.flow.lease()
                apply(actions)
                if let next {
                    lease = next
                    reader = state.reader
                    state.reader = nil
                }
            }
            if state.flow.fetching != state.reportedFetching {
                state.reportedFetching = state.flow.fetching
                onFetching?(state.reportedFetching)
            }
            var idle: [CheckedContinuation<Void, Never>] = []
            state.idleWaiters.removeAll { waiter in
                guard state.flow.inFlight(on: waiter.partitions) == 0 else { return false }
                idle.append(waiter.continuation)
                return true
            }
            return (value, reader, lease, idle)
        }
        if let reader { reader.resume(returning: lease) }
        idle.forEach { $0.resume() }
        return value
    }

    private func setFetching(_ tps: [TopicPartition], on: Bool, _ client: RdKafkaClient) {
        let list = TopicPartitionList(tps)
        let err = on ? rd_kafka_resume_partitions(client.handle, list.pointer) : rd_kafka_pause_partitions(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            client.logger.warning(on ? "resume failed" : "pause failed", metadata: ["error": "\(KafkaError(code: .consumer, err).message)"])
        }
    }

    /// Called under the lock. librdkafka's pause, resume and store only enqueue work; none blocks.
    private func apply(_ actions: [ConsumerFlow.Action]) {
        guard !actions.isEmpty, let client else { return }
        for action in actions {
            switch action {
            case .pause(let tps): setFetching(tps, on: false, client)
            case .resume(let tps): setFetching(tps, on: true, client)
            case .store(let offset):
                let list = TopicPartitionList([offset])
                var err = rd_kafka_offsets_store(client.handle, list.pointer)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR, let partitionError = list.firstError() { err = partitionError }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    client.logger.warning("offset store failed", metadata: ["error": "\(KafkaError(code: .consumer, err).message)"])
                } else {
                    lastStored.withLock { $0[offset.topicPartition] = offset.offset }
                    if commitPromptly { requestCommit(client) }
                }
            }
        }
    }

    /// Commits stored offsets right away (asynchronously), one commit at a time: a crash then
    /// repeats little more than the jobs in flight, not up to `auto.commit.interval.ms` of work.
    private func requestCommit(_ client: RdKafkaClient) {
        if schedule.withLock({ $0.stored(at: .now) }) { _ = rd_kafka_commit(client.handle, nil, 1) }
    }

    /// The last offset stored per partition, kept across revokes (see `resumeAfterLostCommits`).
    private let lastStored = Mutex<[TopicPartition: Int64]>([:])
    /// Its own lock: `apply` runs under the flow's lock, and the commit callback must not wait for it.
    private let schedule: Mutex<CommitSchedule>
    /// Set under `rebalanceWaiters`' lock once the poll loop ended: nothing would release a new waiter.
    private let pollLoopEnded = Atomic<Bool>(false)
    private let rebalanceWaiters = Mutex<[(deadline: ContinuousClock.Instant, continuation: CheckedContinuation<Void, Never>)]>([])
}

/// A weak reference that can live in a Mutex.
private struct WeakClient: @unchecked Sendable {
    // @unchecked: only read and written under the Mutex that holds it.
    weak var client: RdKafkaClient?
}
