import Foundation
import LLMQKafka
import Logging

/// A group consumer config that settles rebalances in seconds on the mock cluster
/// (it completes a rebalance only after about session.timeout.ms).
func fastGroupConfig(_ cluster: MockCluster, group: String, extra: [String: String] = [:]) -> KafkaConfig {
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

func producerConfig(_ cluster: MockCluster, extra: [String: String] = [:]) -> KafkaConfig {
    var config = KafkaConfig(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "1", "log_level": "3"])
    for (key, value) in extra { config[key] = value }
    return config
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` until it holds or `timeout` passes (a deadline, not a sleep-and-hope).
func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TimedOut(what: what)
}

/// Reads messages until `count` arrived, or throws after `timeout`.
func collect(_ count: Int, from consumer: KafkaConsumer, timeout: Duration = .seconds(30)) async throws -> [ConsumerMessage] {
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

/// Records rebalance events for assertions.
actor RebalanceRecorder {
    private(set) var events: [RebalanceEvent] = []
    func record(_ event: RebalanceEvent) { events.append(event) }
    var assigned: Set<TopicPartition> {
        var set: Set<TopicPartition> = []
        for event in events {
            switch event {
            case .assigned(let tps): set.formUnion(tps)
            case .revoked(let tps): set.subtract(tps)
            }
        }
        return set
    }
}

func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }
