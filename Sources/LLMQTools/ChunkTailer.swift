import Foundation
import LLMQCore
import LLMQKafka
import Logging

/// Follows the chunks topic and rebuilds each job's live text by the stream rule (`StreamAssembler`).
public struct ChunkTailer: Sendable {
    public var kafka: KafkaConfig
    public var topic: String
    /// Only this job, when set.
    public var jobID: String?
    /// Read the topic from the beginning instead of from now on.
    public var fromBeginning: Bool

    public init(kafka: KafkaConfig, topic: String, jobID: String? = nil, fromBeginning: Bool = false) {
        self.kafka = kafka
        self.topic = topic
        self.jobID = jobID
        self.fromBeginning = fromBeginning
    }

    /// Calls `update` for every event that changed a job's view, until cancelled or `until` says stop.
    public func run(logger: Logger, update: @Sendable (ChunkEvent, StreamAssembler.JobView) -> Bool) async throws {
        var config = kafka
        // A private group: every tail sees every event, and leaves no committed offsets behind.
        config.setDefault("group.id", "llmq-tail-\(UUID().uuidString.prefix(8))")
        config["enable.auto.commit"] = "false"
        config.setDefault("auto.offset.reset", fromBeginning ? "earliest" : "latest")
        config.setDefault("session.timeout.ms", "6000")
        config.setDefault("heartbeat.interval.ms", "500")
        config.setDefault("fetch.wait.max.ms", "10")
        let consumer = try KafkaConsumer(config: config, logger: logger)
        try consumer.subscribe(topics: [topic])
        var assembler = StreamAssembler()
        await withTaskCancellationHandler {
            for await message in consumer.messages {
                if let jobID, message.keyString != jobID { continue }
                guard let event = ChunkEvent.decode(message.value), let view = assembler.apply(event) else { continue }
                if !update(event, view) { break }
            }
        } onCancel: {
            Task { await consumer.close() }
        }
        await consumer.close()
    }
}
