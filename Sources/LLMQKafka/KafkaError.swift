import CRdKafka

/// An error from the Kafka layer: a stable `code` usable as a metric label, plus librdkafka's own words.
public struct KafkaError: Error, Sendable, CustomStringConvertible, Hashable {
    /// Stable, low-cardinality classification of where the error came from.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A configuration property was rejected by librdkafka.
        public static let configuration = Code("configuration")
        /// A client handle could not be created.
        public static let clientCreation = Code("client_creation")
        /// `produce` was refused before the message reached librdkafka's queue.
        public static let produce = Code("produce")
        /// The broker did not acknowledge a message (delivery report carried an error).
        public static let delivery = Code("delivery")
        /// Subscribing, assigning, pausing or storing offsets failed.
        public static let consumer = Code("consumer")
        /// An offset commit failed.
        public static let commit = Code("commit")
        /// A flush did not finish within its timeout.
        public static let flushTimeout = Code("flush_timeout")
        /// librdkafka reported a fatal error: the client must be recreated.
        public static let fatal = Code("fatal")
        /// The mock cluster refused an operation.
        public static let mockCluster = Code("mock_cluster")
        /// Cluster metadata could not be read.
        public static let metadata = Code("metadata")
        /// The client was already closed.
        public static let closed = Code("closed")
        /// librdkafka's statistics JSON could not be read.
        public static let statistics = Code("statistics")
        /// A metadata, watermark, committed-offset or group query failed.
        public static let query = Code("query")
    }

    public var code: Code
    /// librdkafka's error code (`rd_kafka_resp_err_t`), when there is one.
    public var rdError: Int32?
    /// librdkafka's message. Never contains configuration values.
    public var message: String

    public init(code: Code, rdError: Int32? = nil, message: String) {
        self.code = code
        self.rdError = rdError
        self.message = message
    }

    init(code: Code, _ err: rd_kafka_resp_err_t) {
        self.code = code
        self.rdError = err.rawValue
        self.message = "\(String(cString: rd_kafka_err2name(err))): \(String(cString: rd_kafka_err2str(err)))"
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(code: Code, consuming error: OpaquePointer) {
        self.code = code
        self.rdError = rd_kafka_error_code(error).rawValue
        self.message = "\(String(cString: rd_kafka_error_name(error))): \(String(cString: rd_kafka_error_string(error)))"
        rd_kafka_error_destroy(error)
    }

    /// librdkafka's symbolic name of `rdError`, e.g. `_MSG_TIMED_OUT`.
    public var rdErrorName: String? {
        rdError.map { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: $0))) }
    }

    public var description: String { "kafka \(code): \(message)" }

    /// True for commit errors that pass once the group settles: a rebalance in progress, a stale
    /// generation or member id, a moving coordinator, a timeout.
    public var isTransientGroupError: Bool {
        guard let rdError else { return false }
        let transient: [rd_kafka_resp_err_t] = [
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
        ]
        return transient.contains { $0.rawValue == rdError }
    }

    /// True for commit errors that mean the group is rebalancing (or has, past this member's
    /// generation): commits must wait for the rebalance to complete.
    public var isRebalanceCommitError: Bool {
        guard let rdError else { return false }
        return [RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION,
                RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID].contains { $0.rawValue == rdError }
    }

    /// librdkafka's producer queue is full (`queue.buffering.max.messages`): wait for room.
    public var isQueueFull: Bool { rdError == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue }

    /// True for delivery errors that a later try of the same message can get past: timeouts, lost
    /// connections, leadership moving, too few in-sync replicas for now, a full local queue.
    /// Everything else (an unknown or forbidden topic, a message too large, a purge at close, a
    /// fatal producer) fails every try the same way.
    public var isRetriableDelivery: Bool {
        guard let rdError else { return false }
        let retriable: [rd_kafka_resp_err_t] = [
            RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
            RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR_INVALID_MSG,
            RD_KAFKA_RESP_ERR__RETRY, RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
        ]
        return retriable.contains { $0.rawValue == rdError }
    }
}
