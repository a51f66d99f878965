import CRdKafka
import Foundation
import Logging
import Synchronization

/// Reads every partition of some topics from a point in time on, without a consumer group, for readers that each need the
/// whole stream (the gateway's replicas): partitions are assigned directly, nothing is committed
/// and no group ever rebalances.
///
/// Each partition starts at the first message at or after `since` (the broker's offsets-for-times),
/// or at its end when `since` is nil or the broker has no such offset. Start offsets are resolved to
/// concrete numbers before `start` returns, so nothing written after it returns is missed.
/// Partitions added later are not followed until the next start.
public final class WindowedTopicReader: Sendable {
    private let client: RdKafkaClient
    private let pollThread: ThreadBox

    /// `config` supplies bootstrap servers and security settings; its `group.id` is replaced by a
    /// private one that never joins a group. `fetch.wait.max.ms` defaults to 5: the embedded mock
    /// cluster answers an empty fetch only after that long (a real broker answers as data arrives).
    public init(config: KafkaConfig, logger: Logger = Logger(label: "llmq.kafka.window")) throws {
        var config = config
        // assign() needs a group id; this one never subscribes, so it never joins or commits.
        config["group.id"] = "llmq-window-\(UInt32.random(in: 0...UInt32.max))"
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        config.setDefault("fetch.wait.max.ms", "5")
        client = try RdKafkaClient(kind: .consumer, config: config, logger: logger)
        rd_kafka_poll_set_consumer(client.handle)
        pollThread = ThreadBox()
    }

    /// Assigns every partition of `topics` and calls `handler` on a dedicated thread for each
    /// message, in order within a partition. Call once.
    public func start(topics: [String], since: Date?, timeout: Duration = .seconds(10),
                      handler: @escaping @Sendable (ConsumerMessage) -> Void) async throws {
        let client = self.client
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        let sinceMs = since.map { Int64($0.timeIntervalSince1970 * 1000) }
        let starts = try await runBlocking { () -> Result<[TopicPartitionOffset], KafkaError> in
            var starts: [TopicPartitionOffset] = []
            for topic in topics {
                var metadata: UnsafePointer<rd_kafka_metadata>?
                guard let rkt = rd_kafka_topic_new(client.handle, topic, nil) else {
                    return .failure(KafkaError(code: .query, message: "cannot create a handle for topic \(topic)"))
                }
                let err = rd_kafka_metadata(client.handle, 0, rkt, &metadata, ms)
                rd_kafka_topic_destroy(rkt)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return .failure(KafkaError(code: .query, err)) }
                defer { rd_kafka_metadata_destroy(metadata) }
                guard metadata.pointee.topic_cnt == 1, metadata.pointee.topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    return .failure(KafkaError(code: .query, message: "topic \(topic) does not exist"))
                }
                for index in 0..<Int(metadata.pointee.topics[0].partition_cnt) {
                    let partition = metadata.pointee.topics[0].partitions[index].id
                    var low: Int64 = 0
                    var high: Int64 = 0
                    let werr = rd_kafka_query_watermark_offsets(client.handle, topic, partition, &low, &high, ms)
                    if werr != RD_KAFKA_RESP_ERR_NO_ERROR { return .failure(KafkaError(code: .query, werr)) }
                    starts.append(TopicPartitionOffset(TopicPartition(topic, partition), offset: high))
                }
            }
            guard let sinceMs, !starts.isEmpty else { return .success(starts) }
            // Offsets for a time: the first message at or after it. Where the broker cannot say, keep the end.
            let query = TopicPartitionList(starts.map { TopicPartitionOffset($0.topicPartition, offset: sinceMs) })
            let terr = rd_kafka_offsets_for_times(client.handle, query.pointer, ms)
            guard terr == RD_KAFKA_RESP_ERR_NO_ERROR else { return .success(starts) }
            let found = query.offsets
            return .success(zip(starts, found).map { end, atTime in
                atTime.offset >= 0 && atTime.offset <= end.offset ? atTime : end
            })
        }.get()
        let list = TopicPartitionList(starts)
        let err = rd_kafka_assign(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: .consumer, err) }
        pollThread.set(PollThread(name: "llmq-window-read") { shouldStop in
            while !shouldStop() {
                guard let message = rd_kafka_consumer_poll(client.handle, 100) else { continue }
                defer { rd_kafka_message_destroy(message) }
                if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    if message.pointee.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                        client.logger.warning("follow error", metadata: ["error": "\(KafkaError(code: .consumer, message.pointee.err).message)"])
                    }
                    continue
                }
                handler(ConsumerMessage(copying: message))
            }
            rd_kafka_consumer_close(client.handle)
        })
    }

    /// Stops following; safe to call more than once, or without `start`.
    public func close() async {
        guard let thread = pollThread.take() else { return }
        thread.requestStop()
        await thread.join()
    }
}

/// The poll thread, set once `start` assigned the partitions.
private final class ThreadBox: Sendable {
    private let thread = Mutex<PollThread?>(nil)
    func set(_ value: PollThread) { thread.withLock { $0 = value } }
    func take() -> PollThread? { thread.withLock { value in defer { value = nil }; return value } }
}
