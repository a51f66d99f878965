import LLMQKafka

/// The one path by which the worker's messages leave: chunk events, results and dead letters.
/// Every message waits for room in librdkafka's queue the same way (backpressure, never a refusal
/// for a full queue). A failed delivery is retried alone when the error is retriable.
struct Publisher: Sendable {
    let producer: KafkaProducer
    let metrics: WorkerMetrics
    /// How long the first retry of a failed delivery waits; it doubles up to `maxRetryDelay`.
    var firstRetryDelay: Duration = .milliseconds(100)
    var maxRetryDelay: Duration = .seconds(5)

    /// Hands a message to the producer; its acknowledgement is counted in `acks`.
    /// - Parameter cancellable: false for messages that must go out once decided (a stream's final event).
    func enqueue(_ message: OutgoingMessage, acks: Acknowledgements, cancellable: Bool) async throws {
        acks.willProduce()
        do {
            try await producer.produce(message, handler: acks, cancellable: cancellable)
        } catch let error as KafkaError {
            refused(message, error, acks: acks)
            throw error
        } catch {
            acks.produceRefused(KafkaError(code: .produce, message: "cancelled while the producer queue was full"))
            throw error
        }
    }

    /// Hands a message to the producer if its queue has room, without waiting: true when taken,
    /// false when the queue is full (nothing was counted; `enqueue` waits for room). Throws, as
    /// `enqueue` does, when the producer refuses it otherwise.
    func enqueueNow(_ message: OutgoingMessage, acks: Acknowledgements) throws -> Bool {
        acks.willProduce()
        do {
            try producer.produceNow(message, handler: acks)
            return true
        } catch let error as KafkaError where error.isQueueFull {
            acks.withdrawn()
            return false
        } catch let error as KafkaError {
            refused(message, error, acks: acks)
            throw error
        }
    }

    /// The producer refused `message` for good: it gets no delivery report, so `acks` is told here.
    private func refused(_ message: OutgoingMessage, _ error: KafkaError, acks: Acknowledgements) {
        acks.produceRefused(error)
        metrics.produceError(topic: message.topic)
    }

    /// Delivers every message and returns once each is acknowledged. A message whose delivery
    /// fails with a retriable error (a timeout, a leader moving) is produced again, alone, with
    /// backoff; messages already acknowledged are never produced twice. A decided result goes out
    /// also when the job's task is cancelled (a cancel request, a shutdown): tries go on for
    /// `afterCancellation` past the cancellation, then `CancellationError`. Throws the first
    /// permanent error.
    func deliver(_ messages: [OutgoingMessage], afterCancellation: Duration = WorkerConfiguration.drainFlushLimit) async throws {
        var delay = firstRetryDelay
        var cancelledAt: ContinuousClock.Instant?
        var outstanding = messages
        while !outstanding.isEmpty {
            let acks = outstanding.map { _ in Acknowledgements() }
            for (message, ack) in zip(outstanding, acks) {
                try? await enqueue(message, acks: ack, cancellable: false)
            }
            var failed: [OutgoingMessage] = []
            for (message, ack) in zip(outstanding, acks) {
                guard let error = await ack.waitForAll() else { continue }
                guard error.isRetriableDelivery else { throw error }
                metrics.produceError(topic: message.topic)
                failed.append(message)
            }
            outstanding = failed
            guard !outstanding.isEmpty else { return }
            if Task.isCancelled {
                let since = cancelledAt ?? .now
                cancelledAt = since
                if ContinuousClock.now - since >= afterCancellation { throw CancellationError() }
            }
            // A pause the job's cancellation does not cut short (this loop bounds itself above).
            await Task.detached { [delay] in try? await Task.sleep(for: delay) }.value
            delay = min(delay * 2, maxRetryDelay)
        }
    }
}
