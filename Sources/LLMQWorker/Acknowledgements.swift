import LLMQKafka
import Synchronization

/// Counts messages awaiting the broker's acknowledgement, so a stream's `end` is produced only
/// after its deltas are acknowledged, the result only after the stream's `end`, and the offset
/// only after the result.
final class Acknowledgements: DeliveryHandler {
    private struct State {
        var pending = 0
        var firstError: KafkaError?
        var waiter: CheckedContinuation<KafkaError?, Never>?
    }
    private let state = Mutex(State())

    /// Call before handing a message to the producer.
    func willProduce() { state.withLock { $0.pending += 1 } }

    /// Call when the producer refused the message (it will get no delivery report).
    func produceRefused(_ error: KafkaError) { complete(error) }

    /// Call when the message was not handed over after all (librdkafka's queue was full): it is
    /// no longer pending, and nothing failed.
    func withdrawn() { complete(nil) }

    func deliveryCompleted(_ result: Result<DeliveryReport, KafkaError>) {
        if case .failure(let error) = result { complete(error) } else { complete(nil) }
    }

    private func complete(_ error: KafkaError?) {
        let waiter = state.withLock { state -> (CheckedContinuation<KafkaError?, Never>, KafkaError?)? in
            state.pending -= 1
            if state.firstError == nil, let error { state.firstError = error }
            guard state.pending == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.firstError)
        }
        if let (continuation, error) = waiter { continuation.resume(returning: error) }
    }

    /// Waits (also when cancelled: acknowledgements come soon, or fail at `message.timeout.ms`)
    /// until nothing is pending; returns the first error.
    func waitForAll() async -> KafkaError? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> KafkaError?? in
                if state.pending == 0 { return .some(state.firstError) }
                state.waiter = continuation
                return .none
            }
            if case .some(let error) = ready { continuation.resume(returning: error) }
        }
    }
}
