import LLMQKafka
import Logging
import Synchronization

/// Reads a topic from the beginning in the background, keeping every message for assertions.
public final class TopicCollector: Sendable {
    private let consumer: KafkaConsumer
    private let received = MessageStore()
    private let reader: Task<Void, Never>

    public init(_ cluster: MockCluster, topic: String) throws {
        var logger = Logger(label: "test.collector")
        logger.logLevel = .error
        consumer = try KafkaConsumer(config: fastGroupConfig(cluster, group: uniqueName("collector"), extra: ["fetch.wait.max.ms": "20"]), logger: logger)
        try consumer.subscribe(topics: [topic])
        let consumer = self.consumer
        let received = self.received
        reader = Task {
            for await message in consumer.messages { received.list.withLock { $0.append(message) } }
        }
    }

    public var messages: [ConsumerMessage] { received.list.withLock { $0 } }

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
    let list = Mutex<[ConsumerMessage]>([])
}
