import LLMQKafka
import LLMQTesting

/// A group consumer config that settles rebalances in seconds on the mock cluster
/// (it completes a rebalance only after about session.timeout.ms).
public func fastGroupConfig(_ cluster: MockCluster, group: String, extra: [String: String] = [:]) -> KafkaConfig {
    var config = KafkaConfig([
        "bootstrap.servers": cluster.bootstrapServers,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": "3000",
        "heartbeat.interval.ms": "300",
        "max.poll.interval.ms": "3000",
        "enable.auto.commit": "false",
        "partition.assignment.strategy": "cooperative-sticky",
        "topic.metadata.refresh.interval.ms": "1000",
        "log_level": "3",
    ])
    for (key, value) in extra { config[key] = value }
    return config
}

public func producerConfig(_ cluster: MockCluster, extra: [String: String] = [:]) -> KafkaConfig {
    var config = KafkaConfig(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "1", "log_level": "3"])
    for (key, value) in extra { config[key] = value }
    return config
}

/// Reads messages until `count` arrived, or throws after `timeout`.
public func collect(_ count: Int, from consumer: KafkaConsumer, timeout: Duration = .seconds(30)) async throws -> [ConsumerMessage] {
    try await withThrowingTaskGroup(of: [ConsumerMessage]?.self) { group in
        group.addTask {
            var received: [ConsumerMessage] = []
            for await message in consumer.messages {
                received.append(message)
                if received.count == count { break }
            }
            return received
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let result = try await group.next()!, result.count == count else {
            throw TimedOut(what: "\(count) messages")
        }
        return result
    }
}
