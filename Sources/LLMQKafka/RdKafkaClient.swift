import CRdKafka
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// What a client's owner wants to hear from librdkafka's callbacks. Fixed at creation.
struct ClientCallbacks: Sendable {
    /// Consumers: every rebalance, on the consumer's poll thread.
    var rebalance: (@Sendable (RdKafkaClient, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    /// Consumers: the outcome of every offset commit, on the consumer's poll thread.
    var offsetCommit: (@Sendable (rd_kafka_resp_err_t) -> Void)?
    /// Once, when librdkafka reports a fatal error.
    var fatal: (@Sendable (KafkaError) -> Void)?
    /// Consumers: the group's join state changed; true when it is `steady` (no rebalance under
    /// way). Read from librdkafka's `cgrp` debug log, its only report of the join state.
    var joinState: (@Sendable (_ steady: Bool) -> Void)?
    /// Consumers: each statistics document (`statistics.interval.ms`), parsed, on the poll thread.
    var statistics: (@Sendable (ConsumerStatistics) -> Void)?
}

/// Owns one `rd_kafka_t` and the state its C callbacks reach through the opaque pointer.
///
/// `@unchecked Sendable`: librdkafka handles are thread-safe; every stored property is a `let`
/// (the handle is set once, in `init`, before the client is shared), and `fatal` is a Mutex.
final class RdKafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    private(set) var handle: OpaquePointer!
    let logger: Logger
    let callbacks: ClientCallbacks
    /// Producers: counts delivery reports and wakes senders waiting for room in the queue.
    let queueSpace = QueueSpace()
    private let fatal = Mutex<KafkaError?>(nil)

    /// Creates the client. `configure` may install extra C callbacks on the native config before creation.
    init(kind: Kind, config: KafkaConfig, logger: Logger, callbacks: ClientCallbacks = ClientCallbacks(),
         configure: (OpaquePointer) -> Void = { _ in }) throws {
        self.logger = logger
        self.callbacks = callbacks
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
        if callbacks.rebalance != nil {
            rd_kafka_conf_set_rebalance_cb(conf) { _, err, partitions, opaque in
                guard let opaque, let partitions else { return }
                let client = Unmanaged<RdKafkaClient>.fromOpaque(opaque).takeUnretainedValue()
                client.callbacks.rebalance?(client, err, partitions)
            }
        }
        if callbacks.offsetCommit != nil {
            rd_kafka_conf_set_offset_commit_cb(conf) { _, err, _, opaque in
                guard let opaque else { return }
                Unmanaged<RdKafkaClient>.fromOpaque(opaque).takeUnretainedValue().callbacks.offsetCommit?(err)
            }
        }
        if callbacks.statistics != nil { Self.installStatisticsCallback(on: conf) }
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
        if let joinState = callbacks.joinState, let facility, let message, strcmp(facility, "CGRPJOINSTATE") == 0,
           let state = Self.newJoinState(message) {
            joinState(state == "steady")
        }
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

    /// The state after "->" in librdkafka 2.0's `Group "g" changed join state A -> B (state up)`.
    static func newJoinState(_ message: UnsafePointer<CChar>) -> Substring? {
        let text = String(cString: message)
        guard let arrow = text.range(of: " -> ") else { return nil }
        return text[arrow.upperBound...].prefix { $0 != " " }
    }

    private func reportError(rk: OpaquePointer?, err: rd_kafka_resp_err_t, reason: UnsafePointer<CChar>?) {
        let reasonText = reason.map { String(cString: $0) } ?? ""
        if err == RD_KAFKA_RESP_ERR__FATAL, let rk {
            var errstr = [CChar](repeating: 0, count: 512)
            let original = rd_kafka_fatal_error(rk, &errstr, errstr.count)
            let detail = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let error = KafkaError(code: .fatal, rdError: original.rawValue, message: detail.isEmpty ? reasonText : detail)
            let first = fatal.withLock { stored -> Bool in
                defer { stored = stored ?? error }
                return stored == nil
            }
            logger.critical("librdkafka fatal error", metadata: ["error": "\(error.message)"])
            if first { callbacks.fatal?(error) }
            return
        }
        // Transient errors (broker down, all brokers down) are retried by librdkafka itself.
        logger.warning("librdkafka error", metadata: ["error": "\(String(cString: rd_kafka_err2name(err))): \(reasonText)"])
    }
}

/// Lets senders wait for room in a producer's queue without polling: every delivery report frees
/// room, so a sender refused with `_QUEUE_FULL` waits for the next report after its refusal.
final class QueueSpace: Sendable {
    private let reports = Atomic<UInt64>(0)
    private let waiting = Atomic<Int>(0)
    private let waiters = Mutex<[(id: UInt64, continuation: CheckedContinuation<Void, Never>)]>([])
    private let nextID = Atomic<UInt64>(0)

    /// Delivery reports so far; read it before a produce that may be refused.
    var reportCount: UInt64 { reports.load(ordering: .acquiring) }

    /// On the poll thread, per delivery report: one atomic add, and a lock only when someone waits.
    func reported() {
        // Sequentially consistent: this add-then-load pairs with the waiter's add-then-load, so
        // one of the two always sees the other (a report is never missed by a waiter).
        reports.add(1, ordering: .sequentiallyConsistent)
        guard waiting.load(ordering: .sequentiallyConsistent) > 0 else { return }
        let woken = waiters.withLock { list -> [CheckedContinuation<Void, Never>] in
            defer { list.removeAll() }
            return list.map(\.continuation)
        }
        waiting.subtract(woken.count, ordering: .releasing)
        woken.forEach { $0.resume() }
    }

    /// Returns once a delivery report has come after `observed` (at once if one already has), or,
    /// when `cancellable`, once the task is cancelled.
    func waitForReport(after observed: UInt64, cancellable: Bool) async {
        let id = nextID.add(1, ordering: .relaxed).newValue
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = waiters.withLock { list -> Bool in
                    waiting.add(1, ordering: .sequentiallyConsistent)
                    // Checked after announcing the wait, so a report in between is never missed.
                    if reports.load(ordering: .sequentiallyConsistent) != observed || (cancellable && Task.isCancelled) {
                        waiting.subtract(1, ordering: .releasing)
                        return true
                    }
                    list.append((id, continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            guard cancellable else { return }
            let woken = waiters.withLock { list -> CheckedContinuation<Void, Never>? in
                guard let index = list.firstIndex(where: { $0.id == id }) else { return nil }
                return list.remove(at: index).continuation
            }
            if let woken {
                waiting.subtract(1, ordering: .releasing)
                woken.resume()
            }
        }
    }
}
