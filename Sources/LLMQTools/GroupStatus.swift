import Foundation
import LLMQKafka

/// A snapshot of the worker group (`llmq status`): members and their partitions, per-partition lag,
/// jobs in flight per replica, dead letters, and how long the backlog takes at the current rate.
public struct GroupStatus: Sendable {
    public var group: String
    public var jobsTopic: String
    public var takenAt: Date
    /// The coordinator's group state (`Stable`, ...), when the broker describes groups.
    public var state: String?
    /// Where `members` came from: `broker` (DescribeGroups) or `metrics` (the replicas' /metrics).
    public var membersSource: String
    /// Why members are missing or partial, if they are.
    public var note: String?
    public var members: [Member]
    public var partitions: [Partition]
    /// Messages in the dead-letter topic.
    public var deadLetters: Int64
    /// Jobs per second consumed (committed offsets' advance since the previous snapshot).
    public var rate: Double?

    public struct Member: Sendable, Hashable {
        /// The member id (broker) or the metrics URL (metrics).
        public var id: String
        public var clientID: String?
        public var host: String?
        public var partitions: [Int32]
        public var metricsURL: String?
        /// `llmq_jobs_in_flight`, when the replica's metrics were reachable.
        public var inFlight: Int?
        /// `llmq_oldest_queued_job_seconds`.
        public var oldestQueuedSeconds: Double?
    }

    public struct Partition: Sendable, Hashable {
        public var partition: Int32
        /// The group's committed next offset; nil when it has committed none.
        public var committed: Int64?
        public var low: Int64
        public var high: Int64
        /// The member that owns it, when known.
        public var owner: String?
        /// High watermark minus committed offset (minus the low watermark when nothing is committed,
        /// as workers start from the earliest offset).
        public var lag: Int64 { max(0, high - max(committed ?? low, low)) }
    }

    public var totalLag: Int64 { partitions.reduce(0) { $0 + $1.lag } }
    /// Jobs consumed so far (committed offsets summed): what `rate` differentiates.
    public var committedTotal: Int64 { partitions.reduce(0) { $0 + ($1.committed ?? $1.low) } }

    /// Seconds to consume the backlog at `rate`; nil when unknown or nothing moves.
    public var drainSeconds: Double? {
        guard let rate else { return nil }
        if totalLag == 0 { return 0 }
        return rate > 0 ? Double(totalLag) / rate : nil
    }

    /// Sets `rate` from an earlier snapshot of the same group.
    public mutating func measureRate(since earlier: GroupStatus) {
        let seconds = takenAt.timeIntervalSince(earlier.takenAt)
        guard seconds > 0 else { return }
        rate = max(0, Double(committedTotal - earlier.committedTotal) / seconds)
    }
}
