import LLMQKafka
import LLMQTesting
import Logging
import Synchronization

/// Reads a topic from the beginning in the background, keeping every message (with its arrival time).
public final class TopicCollector: Sendable {
    private let consumer: KafkaConsumer
    private let received = MessageStore()
    private let reader: Task<Void, Never>

    public init(bootstrapServers: String, topic: String) throws {
        consumer = try makeTopicReader(bootstrapServers: bootstrapServers, topic: topic, groupPrefix: "collector", fetchWaitMs: 5)
        let consumer = self.consumer
        let received = self.received
        reader = Task {
            for await message in consumer.messages {
                // A rebalance of the collector's own group (injected group errors hit it too) makes it
                // read from the start again: keep each (partition, offset) once.
                received.list.withLock { state in
                    if state.seen.insert(TopicPartitionOffset(message.topicPartition, offset: message.offset)).inserted {
                        state.messages.append(message)
                    }
                }
            }
        }
    }

    public var messages: [ConsumerMessage] { received.list.withLock { $0.messages } }

    /// Waits until `condition` holds for the messages so far.
    @discardableResult
    public func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: @escaping @Sendable ([ConsumerMessage]) -> Bool) async throws -> [ConsumerMessage] {
        try await waitUntil(what, timeout: timeout) { condition(self.messages) }
        return messages
    }

    public func close() async {
        await consumer.close()
        reader.cancel()
    }
}

private final class MessageStore: Sendable {
    struct State {
        var messages: [ConsumerMessage] = []
        var seen: Set<TopicPartitionOffset> = []
    }
    let list = Mutex(State())
}
