/// A consumer group as the coordinator describes it.
public struct GroupDescription: Sendable, Hashable {
    public var name: String
    /// `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead`.
    public var state: String
    /// The assignor (`cooperative-sticky`, `range`, ...).
    public var `protocol`: String
    public var members: [Member]

    public struct Member: Sendable, Hashable {
        public var memberID: String
        public var clientID: String
        /// As the broker saw the connection, e.g. `/10.0.3.7`.
        public var clientHost: String
        public var assignment: [TopicPartition]
    }
}
