import CRdKafka
import Logging

/// An embedded Kafka cluster (librdkafka's mock cluster): real Kafka protocol over TCP on loopback,
/// with fault injection. Used by `llmq dev-broker`, `llmq dev`, the tests and the benchmark.
///
/// Brokers have ids `1...brokers`. The cluster lives as long as this object.
public final class MockCluster: Sendable {
    /// The rd_kafka_t that hosts the cluster's threads (librdkafka requires one).
    private let host: RdKafkaClient
    private let cluster: MockClusterPointer

    /// Kafka request API keys accepted by `pushRequestErrors`.
    public enum APIKey: Int16, Sendable, CaseIterable {
        case produce = 0, fetch = 1, listOffsets = 2, metadata = 3, offsetCommit = 8, offsetFetch = 9
        case findCoordinator = 10, joinGroup = 11, heartbeat = 12, leaveGroup = 13, syncGroup = 14
        case initProducerId = 22
    }

    public init(brokers: Int = 1, logger: Logger = Logger(label: "llmq.kafka.mock")) throws {
        var config = KafkaConfig()
        // The host handle never connects anywhere; keep its own logging quiet.
        config["log_level"] = "3"
        host = try RdKafkaClient(kind: .producer, config: config, logger: logger)
        guard let pointer = rd_kafka_mock_cluster_new(host.handle, Int32(brokers)) else {
            throw KafkaError(code: .mockCluster, message: "could not start a mock cluster with \(brokers) brokers")
        }
        cluster = MockClusterPointer(pointer: pointer)
    }

    deinit { rd_kafka_mock_cluster_destroy(cluster.pointer) }

    /// `host:port,host:port,...` for `bootstrap.servers`.
    public var bootstrapServers: String { String(cString: rd_kafka_mock_cluster_bootstraps(cluster.pointer)) }

    /// Creates a topic (replication factor at most the broker count).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        try check(rd_kafka_mock_topic_create(cluster.pointer, name, Int32(partitions), Int32(replicationFactor)), "create topic \(name)")
    }

    /// Makes a broker refuse connections (existing ones are closed).
    public func setBrokerDown(_ brokerID: Int32) throws {
        try check(rd_kafka_mock_broker_set_down(cluster.pointer, brokerID), "broker \(brokerID) down")
    }

    /// Makes a broker accept connections again.
    public func setBrokerUp(_ brokerID: Int32) throws {
        try check(rd_kafka_mock_broker_set_up(cluster.pointer, brokerID), "broker \(brokerID) up")
    }

    /// Adds a round-trip delay to every response of a broker.
    public func setRoundTripTime(broker brokerID: Int32, _ rtt: Duration) throws {
        let ms = Int32(clamping: rtt.wholeMilliseconds)
        try check(rd_kafka_mock_broker_set_rtt(cluster.pointer, brokerID, ms), "broker \(brokerID) rtt")
    }

    /// The next requests of `api`, from any client, fail with these librdkafka error codes in order.
    public func pushRequestErrors(_ api: APIKey, _ errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeBufferPointer {
            rd_kafka_mock_push_request_errors_array(cluster.pointer, api.rawValue, $0.count, $0.baseAddress)
        }
    }

    /// Makes a topic's requests fail with an error code.
    public func setTopicError(_ topic: String, _ error: Int32) {
        rd_kafka_mock_topic_set_error(cluster.pointer, topic, rd_kafka_resp_err_t(rawValue: error))
    }

    /// Moves a partition's leadership to another broker.
    public func setPartitionLeader(_ topic: String, partition: Int32, broker: Int32) throws {
        try check(rd_kafka_mock_partition_set_leader(cluster.pointer, topic, partition, broker), "partition leader")
    }

    /// Moves a group's coordinator to another broker.
    public func setGroupCoordinator(_ group: String, broker: Int32) throws {
        try check(rd_kafka_mock_coordinator_set(cluster.pointer, "group", group, broker), "group coordinator")
    }

    private func check(_ err: rd_kafka_resp_err_t, _ what: String) throws {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            var error = KafkaError(code: .mockCluster, err)
            error.message = "\(what): \(error.message)"
            throw error
        }
    }
}

/// librdkafka's mock cluster functions are thread-safe (they post to the cluster's own thread).
private struct MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Named librdkafka error codes, for fault injection without importing the C module.
public enum KafkaErrorCodes {
    public static let notLeaderForPartition: Int32 = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue
    public static let requestTimedOut: Int32 = RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue
    public static let notEnoughReplicas: Int32 = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue
    public static let coordinatorNotAvailable: Int32 = RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue
    public static let notCoordinator: Int32 = RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue
    public static let rebalanceInProgress: Int32 = RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue
    public static let unknownMemberID: Int32 = RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID.rawValue
    public static let topicAuthorizationFailed: Int32 = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue
    public static let queueFull: Int32 = RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue
    public static let messageTimedOut: Int32 = RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue
}
