import CRdKafka
import Logging

/// Reads a fixed range of a topic's partitions, without a consumer group (nothing is committed and
/// no group rebalances): for tools that look at a whole topic, such as `llmq dlq`.
///
/// The range is fixed when the scan starts (each partition's watermarks at that moment), so a scan of a
/// topic that is still being written to ends.
public final class TopicScanner: Sendable {
    private let config: KafkaConfig
    private let logger: Logger

    /// `config` supplies bootstrap servers and security settings; its `group.id` is replaced by a private one.
    public init(config: KafkaConfig, logger: Logger = Logger(label: "llmq.kafka.scan")) {
        var config = config
        // librdkafka's assign() needs a group id; this one never joins (no subscribe) and never commits.
        config["group.id"] = "llmq-scan-\(UInt32.random(in: 0...UInt32.max))"
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        config["enable.partition.eof"] = "true"
        config.setDefault("fetch.wait.max.ms", "50")
        self.config = config
        self.logger = logger
    }

    /// The messages of `ranges` (partition → [start, end) offsets), in order within each partition.
    /// The sequence ends once every partition reached its end, and fails when no message arrives for
    /// `stallTimeout`.
    public func scan(topic: String, ranges: [Int32: Range<Int64>], stallTimeout: Duration = .seconds(30)) throws -> AsyncThrowingStream<ConsumerMessage, any Error> {
        let wanted = ranges.filter { !$0.value.isEmpty }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ConsumerMessage.self, bufferingPolicy: .bufferingNewest(Int.max))
        guard !wanted.isEmpty else {
            continuation.finish()
            return stream
        }
        let client = try RdKafkaClient(kind: .consumer, config: config, logger: logger)
        rd_kafka_poll_set_consumer(client.handle)
        let list = TopicPartitionList(wanted.map { TopicPartitionOffset(TopicPartition(topic, $0.key), offset: $0.value.lowerBound) })
        let err = rd_kafka_assign(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(code: .consumer, err) }
        let stallMs = stallTimeout.wholeMilliseconds
        let thread = PollThread(name: "llmq-topic-scan") { shouldStop in
            var remaining = wanted
            var idleMs: Int64 = 0
            while !remaining.isEmpty && !shouldStop() {
                guard let message = rd_kafka_consumer_poll(client.handle, 100) else {
                    idleMs += 100
                    if idleMs >= stallMs {
                        continuation.finish(throwing: KafkaError(code: .consumer, message: "scan of \(topic) stalled: partitions \(remaining.keys.sorted()) did not reach their end"))
                        rd_kafka_consumer_close(client.handle)
                        return
                    }
                    continue
                }
                defer { rd_kafka_message_destroy(message) }
                let raw = message.pointee
                guard let range = remaining[raw.partition] else { continue }
                if raw.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    // EOF carries the next offset: the partition ends below our range (compaction, deletion).
                    if raw.offset >= range.upperBound { remaining[raw.partition] = nil }
                    continue
                }
                if raw.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    client.logger.warning("scan error", metadata: ["error": "\(KafkaError(code: .consumer, raw.err).message)"])
                    continue
                }
                idleMs = 0
                if raw.offset >= range.upperBound { remaining[raw.partition] = nil; continue }
                continuation.yield(ConsumerMessage(copying: message))
                if raw.offset + 1 >= range.upperBound { remaining[raw.partition] = nil }
            }
            rd_kafka_consumer_close(client.handle)
            continuation.finish()
        }
        continuation.onTermination = { _ in thread.requestStop() }
        return stream
    }
}
