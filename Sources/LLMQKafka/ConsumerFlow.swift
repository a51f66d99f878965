import DequeModule

/// How many messages a consumer holds: leased to the application at once, and read ahead.
public struct FlowLimits: Sendable, Hashable {
    /// Messages leased to the application and not yet finished (the worker's concurrency).
    public var maxInFlight: Int
    /// Fetching pauses once this many fetched messages wait to be leased, and resumes at half of it.
    public var readAheadMessages: Int
    /// Fetching also pauses once the waiting messages hold this many bytes (resumes at half).
    public var readAheadBytes: Int
    /// Whether finished leases store offsets. Plain readers store none (and track none).
    public var storesOffsets: Bool

    public init(maxInFlight: Int, readAheadMessages: Int, readAheadBytes: Int = 64 << 20, storesOffsets: Bool = true) {
        self.maxInFlight = max(1, maxInFlight)
        self.readAheadMessages = max(2, readAheadMessages)
        self.readAheadBytes = max(2, readAheadBytes)
        self.storesOffsets = storesOffsets
    }

    /// For plain readers (tail, collectors): no lease limit, 1,000 messages read ahead, no offsets stored.
    public static let reader = FlowLimits(maxInFlight: .max, readAheadMessages: 1000, storesOffsets: false)
}

/// A message handed to the application. Finish it (`KafkaConsumer.finish`) exactly once.
public struct ConsumerLease: Sendable {
    public let message: ConsumerMessage
    /// The assignment of the partition the message was leased under.
    let generation: UInt64
}

/// The consumer's flow, as one state machine: which partitions are assigned (each assignment
/// with its own generation), the read-ahead buffer, the leases out, the offsets that may be stored,
/// and whether fetching is paused. Every event returns the actions to apply to librdkafka, in order.
///
/// Pause and resume are decided here alone, from the read-ahead buffer, and re-decided on every
/// event that changes it (a message fetched, leased or dropped, an assignment or revoke). A worker
/// that is full stops leasing, so its buffer fills and fetching pauses; once leasing drains the
/// buffer to half, fetching resumes. Because fetching is on whenever the buffer is below half, and
/// a buffer above half always has a message for the next free lease, no sequence of events can
/// leave a consumer paused with nothing to lease (the stall of issue 10).
///
/// A plain struct without I/O, unit-tested on its own (`ConsumerFlowTests`).
public struct ConsumerFlow: Sendable {
    public enum Action: Sendable, Hashable {
        case pause([TopicPartition])
        case resume([TopicPartition])
        /// Store this next-offset (every job below it is finished).
        case store(TopicPartitionOffset)
    }

    private struct Partition: Sendable {
        var generation: UInt64
        /// Being revoked: no new leases, buffered messages dropped; finished work may still store.
        var revoking = false
        var inFlight = 0
    }

    public let limits: FlowLimits
    private var partitions: [TopicPartition: Partition] = [:]
    private var offsets = OffsetTracker()
    private var buffer: Deque<ConsumerMessage> = []
    private var bufferedBytes = 0
    private var nextGeneration: UInt64 = 1
    /// Leases out and not finished, all partitions together.
    public private(set) var inFlight = 0
    /// Whether fetching is on (false once paused for a full read-ahead buffer).
    public private(set) var fetching = true
    /// Partitions librdkafka holds paused on our word. Its pause flag outlives an unassign, so a
    /// partition assigned back (after a revoke or a lost assignment) must be resumed explicitly.
    private var pausedInLibrdkafka: Set<TopicPartition> = []

    public init(limits: FlowLimits) {
        self.limits = limits
    }

    // MARK: Events

    /// Partitions were assigned (incrementally, under the cooperative protocol). Each starts a new
    /// generation and a fresh offset state. Apply the actions after librdkafka has assigned them.
    public mutating func assigned(_ tps: [TopicPartition]) -> [Action] {
        for tp in tps {
            partitions[tp] = Partition(generation: nextGeneration)
            nextGeneration += 1
        }
        offsets.assign(tps)
        let sorted = tps.sorted(by: Self.order)
        if !fetching { return pause(sorted) }
        // Paused when we last owned it: librdkafka still has it paused.
        let stillPaused = sorted.filter { pausedInLibrdkafka.contains($0) }
        return stillPaused.isEmpty ? [] : resume(stillPaused)
    }

    /// A revoke began: these partitions take no new leases and their buffered messages are dropped
    /// (another member will read them). Leases out may still finish and store until `revoked`.
    public mutating func revoking(_ tps: [TopicPartition]) -> [Action] {
        let set = Set(tps)
        for tp in tps { partitions[tp]?.revoking = true }
        dropBuffered { set.contains($0.topicPartition) }
        return reevaluate()
    }

    /// The revoke completed: the partitions are forgotten.
    public mutating func revoked(_ tps: [TopicPartition]) -> [Action] {
        let set = Set(tps)
        for tp in tps { partitions[tp] = nil }
        offsets.revoke(tps)
        dropBuffered { set.contains($0.topicPartition) }
        return reevaluate()
    }

    /// Every partition is gone at once (an eager revoke, a lost assignment, a rebalance error).
    public mutating func revokedAll() -> [Action] {
        revoked(Array(partitions.keys))
    }

    /// A message was fetched. Messages of partitions not assigned (or being revoked) are dropped.
    public mutating func received(_ message: ConsumerMessage) -> [Action] {
        guard let partition = partitions[message.topicPartition], !partition.revoking else { return [] }
        buffer.append(message)
        bufferedBytes += message.value.count
        return reevaluate()
    }

    /// Leases the next message when a lease is free and one is buffered. Repeats of an offset
    /// already leased in this assignment are dropped.
    public mutating func lease() -> (ConsumerLease?, [Action]) {
        var lease: ConsumerLease?
        while inFlight < limits.maxInFlight, let message = buffer.popFirst() {
            bufferedBytes -= message.value.count
            let tp = message.topicPartition
            guard let generation = partitions[tp]?.generation else { continue }
            if limits.storesOffsets, !offsets.start(tp, offset: message.offset) { continue }
            partitions[tp]?.inFlight += 1
            inFlight += 1
            lease = ConsumerLease(message: message, generation: generation)
            break
        }
        return (lease, reevaluate())
    }

    /// A lease ended. When `completed` (its result is acknowledged), its offset counts as done and
    /// a store follows if the partition's mark advanced. A lease of an earlier assignment only frees
    /// its slot.
    public mutating func finished(_ lease: ConsumerLease, completed: Bool) -> [Action] {
        inFlight -= 1
        let tp = lease.message.topicPartition
        guard partitions[tp]?.generation == lease.generation else { return [] }
        partitions[tp]?.inFlight -= 1
        guard completed, limits.storesOffsets, let next = offsets.finish(tp, offset: lease.message.offset) else { return [] }
        return [.store(TopicPartitionOffset(tp, offset: next))]
    }

    // MARK: Queries

    /// Partitions assigned now (including ones being revoked).
    public var assignment: Set<TopicPartition> { Set(partitions.keys) }

    /// Messages fetched and waiting for a lease.
    public var bufferedCount: Int { buffer.count }

    /// The Kafka timestamp of the oldest message waiting for a lease (the next to be leased).
    public var oldestWaitingTimestampMs: Int64? { buffer.first?.timestampMs }

    /// Whether a lease could be taken now.
    public var canLease: Bool { inFlight < limits.maxInFlight && !buffer.isEmpty }

    /// Leases out on these partitions (all when nil).
    public func inFlight(on tps: Set<TopicPartition>?) -> Int {
        guard let tps else { return inFlight }
        return tps.reduce(0) { $0 + (partitions[$1]?.inFlight ?? 0) }
    }

    /// Whether the lease belongs to the current assignment of its partition, which is not being revoked.
    public func isCurrent(_ lease: ConsumerLease) -> Bool {
        guard let partition = partitions[lease.message.topicPartition] else { return false }
        return partition.generation == lease.generation && !partition.revoking
    }

    // MARK: Pause and resume

    private mutating func dropBuffered(where drop: (ConsumerMessage) -> Bool) {
        guard buffer.contains(where: drop) else { return }
        buffer = Deque(buffer.filter { message in
            if drop(message) { bufferedBytes -= message.value.count; return false }
            return true
        })
    }

    private mutating func reevaluate() -> [Action] {
        if fetching, buffer.count >= limits.readAheadMessages || bufferedBytes >= limits.readAheadBytes {
            fetching = false
            return pause(activePartitions)
        }
        if !fetching, buffer.count <= limits.readAheadMessages / 2, bufferedBytes <= limits.readAheadBytes / 2 {
            fetching = true
            return resume(activePartitions)
        }
        return []
    }

    private mutating func pause(_ tps: [TopicPartition]) -> [Action] {
        guard !tps.isEmpty else { return [] }
        pausedInLibrdkafka.formUnion(tps)
        return [.pause(tps)]
    }

    private mutating func resume(_ tps: [TopicPartition]) -> [Action] {
        guard !tps.isEmpty else { return [] }
        pausedInLibrdkafka.subtract(tps)
        return [.resume(tps)]
    }

    /// Assigned partitions not being revoked, in a stable order.
    private var activePartitions: [TopicPartition] {
        partitions.filter { !$0.value.revoking }.keys.sorted(by: Self.order)
    }

    private static func order(_ a: TopicPartition, _ b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}
