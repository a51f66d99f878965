import CRdKafka
import Logging
import Synchronization

/// Receives the outcome of one produced message. Called on the producer's poll thread: return quickly.
public protocol DeliveryHandler: AnyObject, Sendable {
    func deliveryCompleted(_ result: Result<DeliveryReport, KafkaError>)
}

/// An idempotent Kafka producer (`enable.idempotence=true`, `acks=all` unless configured otherwise).
///
/// Delivery reports are served by a dedicated poll thread. `send` waits for the broker's
/// acknowledgement; `produce(_:handler:)` keeps any number of messages in flight and reports each
/// outcome to its handler.
public final class KafkaProducer: Sendable {
    private let client: RdKafkaClient
    private let pollThread: PollThread
    /// librdkafka's handle for each topic produced to, created on first use. Producing by topic
    /// name makes librdkafka look the topic up under its client-wide write lock for every message
    /// (`rd_kafka_topic_new0`), which the worker's threads then contend for (issue 11).
    private let topicHandles = Mutex<[String: OpaquePointer]>([:])

    /// - Parameter onFatal: called once if librdkafka reports a fatal error (e.g. an idempotence violation).
    public init(config: KafkaConfig, logger: Logger = Logger(label: "llmq.kafka.producer"),
                onFatal: (@Sendable (KafkaError) -> Void)? = nil) throws {
        var config = config
        config.setDefault("enable.idempotence", "true")
        config.setDefault("acks", "all")
        let client = try RdKafkaClient(kind: .producer, config: config, logger: logger, callbacks: ClientCallbacks(fatal: onFatal)) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message else { return }
                KafkaProducer.deliver(message)
                if let opaque { Unmanaged<RdKafkaClient>.fromOpaque(opaque).takeUnretainedValue().queueSpace.reported() }
            }
        }
        self.client = client
        pollThread = PollThread(name: "llmq-producer-poll") { shouldStop in
            while !shouldStop() {
                rd_kafka_poll(client.handle, 100)
            }
        }
    }

    deinit {
        // Before the client (and with it `rd_kafka_destroy`) goes: librdkafka wants topic handles released first.
        for handle in topicHandles.withLock({ Array($0.values) }) { rd_kafka_topic_destroy(handle) }
    }

    /// The topic handle for `name`, created on first use.
    private func topicHandle(_ name: String) throws -> OpaquePointer {
        try topicHandles.withLock { handles in
            if let handle = handles[name] { return handle }
            guard let handle = rd_kafka_topic_new(client.handle, name, nil) else {
                throw KafkaError(code: .produce, rd_kafka_last_error())
            }
            handles[name] = handle
            return handle
        }
    }

    /// Runs `body` with a producer and closes it afterwards (flushing up to `closeTimeout`), also
    /// when `body` throws, so its poll thread never outlives the scope.
    public static func withProducer<T>(
        config: KafkaConfig, logger: Logger, closeTimeout: Duration = .seconds(10),
        onFatal: (@Sendable (KafkaError) -> Void)? = nil, _ body: (KafkaProducer) async throws -> T
    ) async throws -> T {
        let producer = try KafkaProducer(config: config, logger: logger, onFatal: onFatal)
        do {
            let result = try await body(producer)
            await producer.close(timeout: closeTimeout)
            return result
        } catch {
            await producer.close(timeout: closeTimeout)
            throw error
        }
    }

    /// Routes a delivery report to the handler that was passed as the message's opaque.
    private static func deliver(_ message: UnsafePointer<rd_kafka_message_t>) {
        guard let opaque = message.pointee._private else { return }
        let handler = Unmanaged<AnyObject>.fromOpaque(opaque).takeRetainedValue() as! any DeliveryHandler
        if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            handler.deliveryCompleted(.success(DeliveryReport(partition: message.pointee.partition, offset: message.pointee.offset)))
        } else {
            handler.deliveryCompleted(.failure(KafkaError(code: .delivery, message.pointee.err)))
        }
    }

    /// A fatal error (for example an idempotence violation); once set the producer must be recreated.
    public var fatalError: KafkaError? { client.fatalError }

    /// Enqueues a message without waiting; its outcome goes to `handler`.
    /// Throws at once when librdkafka refuses it (for example `_QUEUE_FULL`, `rdError` tells).
    public func produceNow(_ message: OutgoingMessage, handler: (any DeliveryHandler)?) throws {
        let topic = try topicHandle(message.topic)
        let opaque = handler.map { Unmanaged<AnyObject>.passRetained($0).toOpaque() }
        var headers: OpaquePointer? = nil
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                if let value = header.value {
                    value.withUnsafeBytes { _ = rd_kafka_header_add(headers, header.key, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                }
            }
        }
        let error: OpaquePointer? = message.value.withUnsafeBytes { value in
            withOptionalBytes(message.key) { key in
                // On the stack, not an array: this runs once per chunk event.
                withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { args in
                    var count = 0
                    func add(_ arg: rd_kafka_vu_t) {
                        args.initializeElement(at: count, to: arg)
                        count += 1
                    }
                    add(rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_RKT, u: .init(rkt: topic)))
                    add(rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_VALUE, u: .init(mem: .init(ptr: UnsafeMutableRawPointer(mutating: value.baseAddress), size: value.count))))
                    add(rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_MSGFLAGS, u: .init(i: RD_KAFKA_MSG_F_COPY)))
                    if let key {
                        add(rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_KEY, u: .init(mem: .init(ptr: UnsafeMutableRawPointer(mutating: key.baseAddress), size: key.count))))
                    }
                    if let partition = message.partition {
                        add(rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_PARTITION, u: .init(i32: partition)))
                    }
                    if let opaque {
                        add(rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_OPAQUE, u: .init(ptr: opaque)))
                    }
                    if let headers {
                        add(rd_kafka_vu_t(vtype: RD_KAFKA_VTYPE_HEADERS, u: .init(headers: headers)))
                    }
                    return rd_kafka_produceva(client.handle, args.baseAddress, count)
                }
            }
        }
        if let error {
            // On failure nothing was taken over: release the handler and the headers ourselves.
            if let opaque { Unmanaged<AnyObject>.fromOpaque(opaque).release() }
            if let headers { rd_kafka_headers_destroy(headers) }
            throw KafkaError(code: .produce, consuming: error)
        }
    }

    /// Enqueues a message, waiting (without blocking a thread) while librdkafka's queue is full:
    /// a refused sender waits for the next delivery report, which frees room.
    /// - Parameter cancellable: when false, a cancelled task still waits for room and enqueues the
    ///   message (for messages that must go out, such as a stream's final event).
    public func produce(_ message: OutgoingMessage, handler: (any DeliveryHandler)?, cancellable: Bool = true) async throws {
        while true {
            let observed = client.queueSpace.reportCount
            do {
                return try produceNow(message, handler: handler)
            } catch let error as KafkaError where error.isQueueFull {
                if cancellable { try Task.checkCancellation() }
                await client.queueSpace.waitForReport(after: observed, cancellable: cancellable)
            }
        }
    }

    /// Which of `topics` the cluster has, with their partition counts; topics it does not list
    /// (absent, or not visible to these credentials) are missing from the answer.
    public func partitionCounts(of topics: [String], timeout: Duration = .seconds(10)) async throws -> [String: Int] {
        let client = self.client
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        return try await runBlocking { () -> Result<[String: Int], KafkaError> in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(client.handle, 1, nil, &metadata, ms)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return .failure(KafkaError(code: .metadata, err)) }
            defer { rd_kafka_metadata_destroy(metadata) }
            var counts: [String: Int] = [:]
            for i in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[i]
                let name = String(cString: topic.topic)
                if topics.contains(name), topic.err == RD_KAFKA_RESP_ERR_NO_ERROR { counts[name] = Int(topic.partition_cnt) }
            }
            return .success(counts)
        }.get()
    }

    /// Produces a message and returns once the broker has acknowledged it; throws the delivery error otherwise.
    @discardableResult
    public func send(_ message: OutgoingMessage) async throws -> DeliveryReport {
        try await withCheckedThrowingContinuation { continuation in
            let handler = ContinuationDeliveryHandler(continuation)
            Task {
                do { try await self.produce(message, handler: handler) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Waits until every queued message has a delivery report, or throws `flushTimeout`.
    public func flush(timeout: Duration) async throws {
        let client = self.client
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        let err = await runBlocking { rd_kafka_flush(client.handle, ms) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: .flushTimeout, err)
        }
    }

    /// Messages (and requests) still waiting for a delivery report.
    public var outstandingCount: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// Flushes up to `timeout`, fails whatever is left (each handler gets `_PURGE_QUEUE`/`_PURGE_INFLIGHT`),
    /// and stops the poll thread. The producer cannot be used afterwards.
    public func close(timeout: Duration = .seconds(10)) async {
        do {
            try await flush(timeout: timeout)
        } catch {
            client.logger.warning("producer flush timed out; purging undelivered messages", metadata: ["outstanding": "\(outstandingCount)"])
            rd_kafka_purge(client.handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            try? await flush(timeout: .seconds(1))
        }
        pollThread.requestStop()
        await pollThread.join()
    }
}

/// Resumes a continuation with a message's outcome (used by `send`).
private final class ContinuationDeliveryHandler: DeliveryHandler {
    let continuation: CheckedContinuation<DeliveryReport, any Error>
    init(_ continuation: CheckedContinuation<DeliveryReport, any Error>) { self.continuation = continuation }
    func deliveryCompleted(_ result: Result<DeliveryReport, KafkaError>) {
        continuation.resume(with: result.mapError { $0 as any Error })
    }
}

@inline(__always)
private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
