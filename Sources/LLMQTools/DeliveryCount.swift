import LLMQKafka
import Synchronization

/// Counts the broker's acknowledgements of many produced messages (for progress), and keeps the first failure.
final class DeliveryCount: DeliveryHandler {
    private let acknowledged = Atomic<Int>(0)
    private let failure = Mutex<KafkaError?>(nil)

    var count: Int { acknowledged.load(ordering: .relaxed) }
    var firstError: KafkaError? { failure.withLock { $0 } }

    func deliveryCompleted(_ result: Result<DeliveryReport, KafkaError>) {
        switch result {
        case .success: acknowledged.add(1, ordering: .relaxed)
        case .failure(let error): failure.withLock { $0 = $0 ?? error }
        }
    }

    /// Waits until the producer has a report for every message, then throws the first failure, if any.
    func waitForAll(_ producer: KafkaProducer, timeout: Duration = .seconds(60)) async throws {
        try await producer.flush(timeout: timeout)
        if let firstError { throw firstError }
    }
}
