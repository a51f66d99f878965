import LLMQCore
import LLMQKafka

/// Requests cancellation of jobs: a `ControlMessage(cancel:)` on the control topic, keyed by the
/// job id. Every worker reads that topic; the job's owner (running or still queued) answers it
/// with a `cancelled` result.
public struct JobCanceller: Sendable {
    let producer: KafkaProducer
    let topic: String

    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    /// The control message for `jobID`, keyed by it.
    public static func message(cancelling jobID: String, topic: String) -> OutgoingMessage {
        OutgoingMessage(topic: topic, key: Array(jobID.utf8), value: ControlMessage(cancel: jobID).encoded())
    }

    /// Sends the cancel request; returns once the broker has it.
    public func cancel(_ jobID: String) async throws {
        try await producer.send(Self.message(cancelling: jobID, topic: topic))
    }
}
