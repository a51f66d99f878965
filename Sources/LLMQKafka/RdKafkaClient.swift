import CRdKafka
import Logging
import Synchronization

/// Owns one `rd_kafka_t` and the state its C callbacks reach through the opaque pointer.
///
/// `@unchecked Sendable`: librdkafka handles are thread-safe; the only Swift state (`fatalError`)
/// is behind a Mutex, and `logger` is immutable.
final class RdKafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    private(set) var handle: OpaquePointer!
    let logger: Logger
    private let fatal = Mutex<KafkaError?>(nil)
    /// Called on librdkafka's poll thread for every delivery report (producers only).
    var deliveryReport: ((UnsafePointer<rd_kafka_message_t>) -> Void)?
    /// Called on the consumer's poll thread for every rebalance (consumers only).
    var rebalance: ((rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    /// Called on the poll thread with each statistics document (`statistics.interval.ms`; see `installStatisticsCallback`).
    var statistics: (@Sendable (ConsumerStatistics) -> Void)?

    /// Creates the client. `configure` may install extra callbacks on the native config before creation.
    init(kind: Kind, config: KafkaConfig, logger: Logger, configure: (OpaquePointer) -> Void = { _ in }) throws {
        self.logger = logger
        let conf = try config.makeNativeConfig()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            let client = Unmanaged<RdKafkaClient>.fromOpaque(opaque).takeUnretainedValue()
            client.log(level: level, facility: facility, message: message)
        }
        rd_kafka_conf_set_error_cb(conf) { rk, err, reason, opaque in
            guard let opaque else { return }
            let client = Unmanaged<RdKafkaClient>.fromOpaque(opaque).takeUnretainedValue()
            client.reportError(rk: rk, err: rd_kafka_resp_err_t(rawValue: err), reason: reason)
        }
        configure(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            let message = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(code: .clientCreation, message: message)
        }
        handle = rk  // rd_kafka_new took ownership of conf.
    }

    deinit {
        if let handle { rd_kafka_destroy(handle) }
    }

    /// A fatal error reported by librdkafka; the client is unusable once set.
    var fatalError: KafkaError? { fatal.withLock { $0 } }

    private func log(level: Int32, facility: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?) {
        // syslog levels: 0-2 critical, 3 error, 4 warning, 5-6 info/notice, 7 debug.
        let swiftLevel: Logger.Level = switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5, 6: .info
        default: .debug
        }
        guard logger.logLevel <= swiftLevel else { return }
        let facilityString = facility.map { String(cString: $0) } ?? ""
        logger.log(level: swiftLevel, "\(message.map { String(cString: $0) } ?? "")", metadata: ["rdkafka.facility": "\(facilityString)"])
    }

    private func reportError(rk: OpaquePointer?, err: rd_kafka_resp_err_t, reason: UnsafePointer<CChar>?) {
        let reasonText = reason.map { String(cString: $0) } ?? ""
        if err == RD_KAFKA_RESP_ERR__FATAL, let rk {
            var errstr = [CChar](repeating: 0, count: 512)
            let original = rd_kafka_fatal_error(rk, &errstr, errstr.count)
            let detail = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let error = KafkaError(code: .fatal, rdError: original.rawValue, message: detail.isEmpty ? reasonText : detail)
            fatal.withLock { $0 = error }
            logger.critical("librdkafka fatal error", metadata: ["error": "\(error.message)"])
            return
        }
        // Transient errors (broker down, all brokers down) are retried by librdkafka itself.
        logger.warning("librdkafka error", metadata: ["error": "\(String(cString: rd_kafka_err2name(err))): \(reasonText)"])
    }
}
