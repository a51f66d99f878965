/// A change of a consumer's assignment, delivered before librdkafka completes it.
public enum RebalanceEvent: Sendable, Equatable {
    /// These partitions are now (additionally, under the cooperative protocol) assigned.
    case assigned([TopicPartition])
    /// These partitions are being taken away. Store the offsets of finished work before returning
    /// from the handler: the consumer commits stored offsets right after the handler returns.
    case revoked([TopicPartition])
}

/// Called for every rebalance on the consumer's poll thread, which waits for it to return.
/// Keep it well below `max.poll.interval.ms`.
public typealias RebalanceHandler = @Sendable (RebalanceEvent) async -> Void
