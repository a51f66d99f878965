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
    /// Priority lanes: a weight per topic (topics not named weigh 1). When messages of several
    /// topics wait, leases go to each topic in proportion to its weight (see `ConsumerFlow.lease`).
    public var laneWeights: [String: Int]

    public init(maxInFlight: Int, readAheadMessages: Int, readAheadBytes: Int = 64 << 20, storesOffsets: Bool = true,
                laneWeights: [String: Int] = [:]) {
        self.maxInFlight = max(1, maxInFlight)
        self.readAheadMessages = max(2, readAheadMessages)
        self.readAheadBytes = max(2, readAheadBytes)
        self.storesOffsets = storesOffsets
        self.laneWeights = laneWeights.mapValues { max(1, $0) }
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
/// Each topic is a lane with its own read-ahead buffer, paused and resumed on its own, so a lane
/// whose backlog fills its buffer never stops another lane's messages from being fetched. Leases
/// are shared by stride scheduling: the waiting lane that has had the fewest leases per unit of
/// weight goes next, so a lane of weight w gets at least w / (sum of waiting weights) of the
/// leases while it has messages, and a lane nobody else competes with gets them all.
///
/// The lease limit can change at run time (`setMaxInFlight`): adaptive concurrency lowers it, and
/// a worker over its limit stops leasing, so its buffers fill and fetching pauses, as when full.
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

    /// One topic's messages waiting for a lease.
    private struct Lane: Sendable {
        var weight: Int
        var buffer: Deque<ConsumerMessage> = []
        var bytes = 0
        /// Whether this lane's partitions are fetching (false once paused for a full buffer).
        var fetching = true
        /// Stride scheduling's position: leases taken, each counting 1 / weight.
        var pass: Double = 0
    }

    public private(set) var limits: FlowLimits
    private var partitions: [TopicPartition: Partition] = [:]
    private var offsets = OffsetTracker()
    private var lanes: [String: Lane] = [:]
    private var nextGeneration: UInt64 = 1
    /// Leases out and not finished, all partitions together.
    public private(set) var inFlight = 0
    /// Whether every lane is fetching (false once one paused for a full read-ahead buffer).
    public var fetching: Bool { lanes.values.allSatisfy(\.fetching) }
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
        var actions: [Action] = []
        for tp in sorted where lanes[tp.topic] == nil {
            lanes[tp.topic] = Lane(weight: limits.laneWeights[tp.topic] ?? 1, pass: lanes.values.map(\.pass).min() ?? 0)
        }
        let pausedLane = sorted.filter { lanes[$0.topic]?.fetching == false }
        actions += pause(pausedLane)
        // Paused when we last owned it: librdkafka still has it paused.
        let stillPaused = sorted.filter { lanes[$0.topic]?.fetching != false && pausedInLibrdkafka.contains($0) }
        actions += resume(stillPaused)
        return actions
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
        guard let partition = partitions[message.topicPartition], !partition.revoking,
              let lane = lanes.index(forKey: message.topic) else { return [] }
        // The lane is read and mutated in place, never bound to a local: a live copy of it would
        // make the append copy the whole buffer (up to `readAheadMessages` messages, per message).
        if lanes.values[lane].buffer.isEmpty, let lowest = lanes.values.lazy.filter({ !$0.buffer.isEmpty }).map(\.pass).min() {
            // Rejoining the competition: time spent idle is not banked as credit.
            lanes.values[lane].pass = max(lanes.values[lane].pass, lowest)
        }
        lanes.values[lane].buffer.append(message)
        lanes.values[lane].bytes += message.value.count
        return reevaluate(message.topic)
    }

    /// Leases the next message when a lease is free and one is buffered: from the waiting lane
    /// with the lowest pass (ties: by topic name). Repeats of an offset already leased in this
    /// assignment are dropped.
    public mutating func lease() -> (ConsumerLease?, [Action]) {
        var lease: ConsumerLease?
        var touched: [String] = []
        while inFlight < limits.maxInFlight, let topic = nextLane(), let message = lanes[topic]!.buffer.popFirst() {
            if touched.last != topic { touched.append(topic) }
            lanes[topic]!.bytes -= message.value.count
            lanes[topic]!.pass += 1 / Double(lanes[topic]!.weight)
            let tp = message.topicPartition
            guard let generation = partitions[tp]?.generation else { continue }
            if limits.storesOffsets, !offsets.start(tp, offset: message.offset) { continue }
            partitions[tp]?.inFlight += 1
            inFlight += 1
            lease = ConsumerLease(message: message, generation: generation)
            break
        }
        return (lease, touched.flatMap { reevaluate($0) })
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

    /// Changes the lease limit (at least 1). Leases already out above a lowered limit finish as
    /// usual; no new one is handed out until the count is below the limit again.
    public mutating func setMaxInFlight(_ limit: Int) -> [Action] {
        limits.maxInFlight = max(1, limit)
        return reevaluate()
    }

    // MARK: Queries

    /// Partitions assigned now (including ones being revoked).
    public var assignment: Set<TopicPartition> { Set(partitions.keys) }

    /// Messages fetched and waiting for a lease.
    public var bufferedCount: Int { lanes.values.reduce(0) { $0 + $1.buffer.count } }

    /// The Kafka timestamp of the oldest message waiting for a lease (the oldest lane front).
    public var oldestWaitingTimestampMs: Int64? { lanes.values.compactMap { $0.buffer.first?.timestampMs }.min() }

    /// Whether a lease could be taken now.
    public var canLease: Bool { inFlight < limits.maxInFlight && lanes.values.contains { !$0.buffer.isEmpty } }

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

    /// The waiting lane with the lowest pass (ties: by topic name).
    private func nextLane() -> String? {
        var best: (topic: String, pass: Double)?
        for (topic, lane) in lanes where !lane.buffer.isEmpty {
            if let current = best, (current.pass, current.topic) <= (lane.pass, topic) { continue }
            best = (topic, lane.pass)
        }
        return best?.topic
    }

    private mutating func dropBuffered(where drop: (ConsumerMessage) -> Bool) {
        for topic in Array(lanes.keys) where lanes[topic]!.buffer.contains(where: drop) {
            var bytes = lanes[topic]!.bytes
            lanes[topic]!.buffer = Deque(lanes[topic]!.buffer.filter { message in
                if drop(message) { bytes -= message.value.count; return false }
                return true
            })
            lanes[topic]!.bytes = bytes
        }
    }

    /// Pauses every lane whose buffer reached the read-ahead bound, resumes every one drained to half.
    private mutating func reevaluate() -> [Action] {
        lanes.keys.sorted().flatMap { reevaluate($0) }
    }

    /// The same for one lane (what a fetched or leased message can change).
    private mutating func reevaluate(_ topic: String) -> [Action] {
        guard let lane = lanes[topic] else { return [] }
        if lane.fetching, lane.buffer.count >= limits.readAheadMessages || lane.bytes >= limits.readAheadBytes {
            lanes[topic]!.fetching = false
            return pause(activePartitions(of: topic))
        }
        if !lane.fetching, lane.buffer.count <= limits.readAheadMessages / 2, lane.bytes <= limits.readAheadBytes / 2 {
            lanes[topic]!.fetching = true
            return resume(activePartitions(of: topic))
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

    /// The topic's assigned partitions not being revoked, in a stable order.
    private func activePartitions(of topic: String) -> [TopicPartition] {
        partitions.filter { $0.key.topic == topic && !$0.value.revoking }.keys.sorted(by: Self.order)
    }

    private static func order(_ a: TopicPartition, _ b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}
