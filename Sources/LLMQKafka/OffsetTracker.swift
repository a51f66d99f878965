import DequeModule

/// Per partition, the offset below which every job is finished (its result acknowledged by the broker).
///
/// Jobs start in offset order but finish in any order. The offset to store is the lowest one still
/// in flight, or the last started + 1 when none is. A plain struct: no I/O, unit-tested on its own.
public struct OffsetTracker: Sendable {
    private struct Partition: Sendable {
        /// Started jobs in offset order; `true` once finished. Finished ones are popped from the front.
        var pending: Deque<(offset: Int64, finished: Bool)> = []
        var lastStarted: Int64?
        var lastReported: Int64?
    }

    private var partitions: [TopicPartition: Partition] = [:]

    public init() {}

    /// Starts tracking partitions (a fresh state: a reassigned partition starts over).
    public mutating func assign(_ tps: some Sequence<TopicPartition>) {
        for tp in tps { partitions[tp] = Partition() }
    }

    /// Stops tracking partitions; whatever is in flight there no longer counts.
    public mutating func revoke(_ tps: some Sequence<TopicPartition>) {
        for tp in tps { partitions[tp] = nil }
    }

    public func isAssigned(_ tp: TopicPartition) -> Bool { partitions[tp] != nil }

    /// Records that the job at `offset` started. Returns false (and records nothing) when the partition
    /// is not assigned or the offset is not beyond the last started one (a repeat).
    @discardableResult
    public mutating func start(_ tp: TopicPartition, offset: Int64) -> Bool {
        guard var partition = partitions[tp] else { return false }
        if let last = partition.lastStarted, offset <= last { return false }
        partition.pending.append((offset, false))
        partition.lastStarted = offset
        partitions[tp] = partition
        return true
    }

    /// Records that the job at `offset` finished. Returns the next-offset to store when it advanced
    /// (values only grow: store them in the order they are returned).
    public mutating func finish(_ tp: TopicPartition, offset: Int64) -> Int64? {
        guard var partition = partitions[tp] else { return nil }
        // Jobs finish roughly in order, so the finished one is usually near the front.
        guard let index = partition.pending.firstIndex(where: { $0.offset == offset }) else { return nil }
        partition.pending[index].finished = true
        var advanced = false
        while let first = partition.pending.first, first.finished {
            partition.pending.removeFirst()
            advanced = true
        }
        defer { partitions[tp] = partition }
        // Only a finished job at the front moves the mark; a job finishing behind an unfinished one
        // changes nothing that could be stored.
        guard advanced else { return nil }
        let committable = partition.pending.first?.offset ?? partition.lastStarted.map { $0 + 1 }
        guard let committable, committable != partition.lastReported else { return nil }
        partition.lastReported = committable
        return committable
    }

    /// Jobs started and not finished on a partition.
    public func inFlight(_ tp: TopicPartition) -> Int {
        partitions[tp]?.pending.reduce(0) { $0 + ($1.finished ? 0 : 1) } ?? 0
    }
}
