import Foundation

/// Receives a consumer's statistics every `statistics.interval.ms`, on its poll thread: return quickly.
public protocol ConsumerStatisticsHandler: Sendable {
    func statisticsReported(_ statistics: ConsumerStatistics)
}

/// The part of librdkafka's statistics JSON (`statistics.interval.ms`, delivered to the statistics
/// callback) that llmq exports: per-partition consumer lag and the group's state.
///
/// librdkafka reports `-1` (lag) and `-1001` (offsets) for "unknown"; those become `nil` here.
public struct ConsumerStatistics: Sendable, Equatable {
    /// The client's `client.id`.
    public var clientID: String
    /// The client instance name (`rdkafka#consumer-1`).
    public var name: String
    /// Every partition the client knows of, assigned or not (librdkafka's internal partition -1 is left out).
    public var partitions: [Partition]
    /// The consumer group, for group consumers.
    public var group: Group?

    /// One partition of one topic.
    public struct Partition: Sendable, Equatable {
        public var topicPartition: TopicPartition
        /// True while the partition is assigned to this client (librdkafka's `desired`).
        public var assigned: Bool
        /// `none`, `active`, `stopped`, ... (librdkafka's `fetch_state`).
        public var fetchState: String
        /// The group's committed next offset.
        public var committedOffset: Int64?
        /// The partition's high watermark as last fetched.
        public var highWatermark: Int64?
        /// High watermark minus committed offset (librdkafka's `consumer_lag`); nil until both are known.
        public var lag: Int64?
        /// High watermark minus stored offset (`consumer_lag_stored`).
        public var lagStored: Int64?
    }

    /// librdkafka's view of the consumer group (`cgrp`).
    public struct Group: Sendable, Equatable {
        public var state: String
        public var joinState: String
        public var rebalanceCount: Int
        public var assignmentSize: Int
        public init(state: String, joinState: String, rebalanceCount: Int, assignmentSize: Int) {
            self.state = state
            self.joinState = joinState
            self.rebalanceCount = rebalanceCount
            self.assignmentSize = assignmentSize
        }
    }

    /// Parses one statistics document; throws when it is not librdkafka's statistics JSON.
    public init(json: some Collection<UInt8>) throws {
        let raw: Raw
        do {
            raw = try JSONDecoder().decode(Raw.self, from: Data(json))
        } catch {
            throw KafkaError(code: .statistics, message: "unreadable statistics JSON: \(error)")
        }
        clientID = raw.client_id
        name = raw.name
        partitions = (raw.topics ?? [:]).values.flatMap { topic in
            topic.partitions.values.filter { $0.partition >= 0 }.map { p in
                Partition(topicPartition: TopicPartition(topic.topic, p.partition), assigned: p.desired ?? false,
                          fetchState: p.fetch_state ?? "none", committedOffset: Self.offset(p.committed_offset),
                          highWatermark: Self.offset(p.hi_offset), lag: Self.lag(p.consumer_lag),
                          lagStored: Self.lag(p.consumer_lag_stored))
            }
        }.sorted { ($0.topicPartition.topic, $0.topicPartition.partition) < ($1.topicPartition.topic, $1.topicPartition.partition) }
        group = raw.cgrp.map {
            Group(state: $0.state ?? "", joinState: $0.join_state ?? "", rebalanceCount: $0.rebalance_cnt ?? 0,
                  assignmentSize: $0.assignment_size ?? 0)
        }
    }

    /// The partitions of `topic` assigned to this client.
    public func assigned(topic: String) -> [Partition] {
        partitions.filter { $0.assigned && $0.topicPartition.topic == topic }
    }

    private static func offset(_ value: Int64?) -> Int64? { value.flatMap { $0 >= 0 ? $0 : nil } }
    private static func lag(_ value: Int64?) -> Int64? { value.flatMap { $0 >= 0 ? $0 : nil } }

    // librdkafka's field names (STATISTICS.md); everything else in the document is ignored.
    private struct Raw: Decodable {
        var name: String
        var client_id: String
        var topics: [String: RawTopic]?
        var cgrp: RawGroup?
    }
    private struct RawTopic: Decodable {
        var topic: String
        var partitions: [String: RawPartition]
    }
    private struct RawPartition: Decodable {
        var partition: Int32
        var desired: Bool?
        var fetch_state: String?
        var committed_offset: Int64?
        var hi_offset: Int64?
        var consumer_lag: Int64?
        var consumer_lag_stored: Int64?
    }
    private struct RawGroup: Decodable {
        var state: String?
        var join_state: String?
        var rebalance_cnt: Int?
        var assignment_size: Int?
    }
}
