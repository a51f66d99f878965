/// A topic and partition.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)[\(partition)]" }
}

/// A Kafka record header.
public struct KafkaHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]?
    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
    public init(key: String, string: String) {
        self.key = key
        self.value = Array(string.utf8)
    }
    /// The value decoded as UTF-8, if any.
    public var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

extension Array where Element == KafkaHeader {
    /// The last header with `key`, decoded as UTF-8.
    public func string(_ key: String) -> String? { last { $0.key == key }?.stringValue }
}

/// A message to produce.
public struct OutgoingMessage: Sendable {
    public var topic: String
    /// Explicit partition; `nil` lets the partitioner choose from the key.
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, key: String?, value: String, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
    }
}

/// The broker's acknowledgement of a produced message.
public struct DeliveryReport: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
}

/// A message received by a consumer.
public struct ConsumerMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// Milliseconds since the Unix epoch (create or log-append time), when the broker reported one.
    public var timestampMs: Int64?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]? = nil, value: [UInt8],
                headers: [KafkaHeader] = [], timestampMs: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}

/// A partition's next offset to consume, as stored or committed.
public struct TopicPartitionOffset: Hashable, Sendable {
    public var topicPartition: TopicPartition
    /// The offset of the next message to consume (last processed + 1).
    public var offset: Int64
    public init(_ topicPartition: TopicPartition, offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }
}
