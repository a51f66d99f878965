import LLMQKafka
import LLMQTesting
import Logging

/// A consumer in a group of its own that reads `topic` from the beginning: what the harness's
/// collectors and tallies use to watch an output topic. No read-ahead bound (each pause/resume
/// costs librdkafka a fetch restart, and these readers keep up by design); short sessions settle
/// quickly on the mock cluster.
func makeTopicReader(bootstrapServers: String, topic: String, groupPrefix: String, fetchWaitMs: Int,
                     extra: [String: String] = [:]) throws -> KafkaConsumer {
    var logger = Logger(label: "llmq.\(groupPrefix)")
    logger.logLevel = .critical
    var config = KafkaConfig([
        "bootstrap.servers": bootstrapServers, "group.id": uniqueName(groupPrefix), "auto.offset.reset": "earliest",
        "enable.auto.commit": "false", "session.timeout.ms": "3000", "heartbeat.interval.ms": "300",
        "fetch.wait.max.ms": "\(fetchWaitMs)", "topic.metadata.refresh.interval.ms": "1000", "log_level": "2",
    ])
    for (key, value) in extra { config[key] = value }
    // No read-ahead bound: collectors keep up with whatever the test produces.
    let consumer = try KafkaConsumer(config: config, logger: logger,
                                     limits: FlowLimits(maxInFlight: .max, readAheadMessages: .max, readAheadBytes: .max, storesOffsets: false))
    try consumer.subscribe(topics: [topic])
    return consumer
}
