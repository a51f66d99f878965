import LLMQKafka
import Logging

/// Measures the Kafka path alone, beside a worker under load: the bench produces a small stamped
/// message to the chunks topic every few milliseconds, with the worker's producer settings
/// (idempotent, acks=all, linger.ms=2), spread over every partition, and the chunk consumer
/// (`TopicTally`) tallies their stamp → arrival apart from the chunk events. That latency is what
/// the producer's batching, the broker and the consumer's fetch add without any worker in the way.
/// It is reported beside the forward latency, not subtracted from it: the probe's producer sends
/// one small request at a time, the worker's pipelines many, so the two paths are alike but not
/// the same (the worker's own part is the split at the chunk event's timestamp).
///
/// Why it is needed: the embedded broker (librdkafka's mock cluster) finds a fetch's messages by
/// walking the partition's log from its start, so its fetch cost, and the tail of any latency that
/// ends at a consumer, grows as a run fills the topic.
final class KafkaPathProbe: Sendable {
    /// In a probe's value; `TopicTally` looks for it.
    static let marker = #""probe":"@"#

    private let producer: KafkaProducer
    private let sender: Task<Void, Never>

    /// Starts probing once the producer has its id and the topic's metadata (a first message, sent
    /// and acknowledged: before that, probes would measure the producer's start-up, most of a second).
    static func start(bootstrapServers: String, topic: String, partitions: Int, every interval: Duration = .milliseconds(5)) async throws -> KafkaPathProbe {
        var logger = Logger(label: "llmq.bench.probe")
        logger.logLevel = .warning
        let producer = try KafkaProducer(config: KafkaConfig([
            "bootstrap.servers": bootstrapServers, "enable.idempotence": "true", "acks": "all", "linger.ms": "2", "log_level": "3",
        ]), logger: logger)
        do {
            try await producer.send(OutgoingMessage(topic: topic, partition: 0, key: nil, value: Array("{\"probe_warm_up\":true}".utf8)))
        } catch {
            await producer.close(timeout: .seconds(1))
            throw error
        }
        return KafkaPathProbe(producer: producer, topic: topic, partitions: partitions, interval: interval)
    }

    private init(producer: KafkaProducer, topic: String, partitions: Int, interval: Duration) {
        self.producer = producer
        sender = Task {
            var sent = 0
            while !Task.isCancelled {
                let value = "{\(Self.marker)\(wallClockMicros())|\"}"
                let message = OutgoingMessage(topic: topic, partition: Int32(sent % max(1, partitions)), key: nil, value: Array(value.utf8))
                // A full queue or a refused probe only leaves a gap in the sample.
                try? producer.produceNow(message, handler: nil)
                sent += 1
                try? await Task.sleep(for: interval)
            }
        }
    }

    func stop() async {
        sender.cancel()
        await sender.value
        await producer.close(timeout: .seconds(5))
    }
}
