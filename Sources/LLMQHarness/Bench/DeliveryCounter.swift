import LLMQKafka
import LLMQTesting
import Synchronization

/// Counts delivery reports of many produced messages and lets a task wait for all of them.
final class DeliveryCounter: DeliveryHandler {
    private struct State {
        var produced = 0
        var delivered = 0
        var failed = 0
        var firstError: KafkaError?
        var lastDeliveryMicros: Int64 = 0
    }
    private let state = Mutex(State())

    func willProduce(_ count: Int = 1) { state.withLock { $0.produced += count } }

    func deliveryCompleted(_ result: Result<DeliveryReport, KafkaError>) {
        let now = wallClockMicros()
        state.withLock { state in
            state.delivered += 1
            state.lastDeliveryMicros = now
            if case .failure(let error) = result {
                state.failed += 1
                if state.firstError == nil { state.firstError = error }
            }
        }
    }

    var lastDeliveryMicros: Int64 { state.withLock { $0.lastDeliveryMicros } }

    /// Waits until every produced message has a report; throws the first delivery error.
    func waitForAll(timeout: Duration = .seconds(120)) async throws {
        try await waitUntil("delivery reports", timeout: timeout) { self.state.withLock { $0.delivered >= $0.produced } }
        if let error = state.withLock({ $0.firstError }) { throw error }
    }
}
