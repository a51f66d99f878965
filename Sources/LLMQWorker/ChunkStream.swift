import LLMQCore
import LLMQKafka
import LLMQProviders

/// One provider call's chunk events, keyed by job id and numbered from 0 without gaps, produced
/// through the publisher without waiting for each acknowledgement.
///
/// A stream ends exactly once: `end` is produced only after every earlier event is acknowledged
/// (so an `end` never stands behind a missing delta), and `abort` only while the stream is open.
struct ChunkStream {
    enum Ending: Equatable {
        /// The stream ended with `end`, acknowledged by the broker.
        case ended
        /// Some event of the stream was not acknowledged; the stream ended with `abort` if it could.
        case deliveryFailed(KafkaError)
    }

    let publisher: Publisher
    let topic: String
    let key: [UInt8]
    let jobID: String
    let streamID: String
    let attempt: Int
    /// Writes each event from the stream's pre-encoded constant parts (hot path: one per delta).
    private let encoder: ChunkEventEncoder
    private let acks = Acknowledgements()
    private(set) var nextSeq = 0
    private(set) var isOpen = true
    /// Events produced but not yet added to `llmq_chunk_events_total`: the counter is updated once
    /// per stream (at its final event), not once per event.
    private var uncounted = 0

    init(publisher: Publisher, topic: String, key: [UInt8], jobID: String, streamID: String, attempt: Int) {
        self.publisher = publisher
        self.topic = topic
        self.key = key
        self.jobID = jobID
        self.streamID = streamID
        self.attempt = attempt
        self.encoder = ChunkEventEncoder(jobID: jobID, streamID: streamID, attempt: attempt)
    }

    /// Events produced so far (the `end` event reports this count, itself included).
    var eventCount: Int { nextSeq }

    /// Produces `start` or a delta. Throws when the producer refuses it or the task is cancelled
    /// while the queue is full (the attempt then fails and the stream is aborted).
    mutating func emit(_ kind: ChunkEvent.Kind) async throws {
        precondition(isOpen, "chunk event after the stream's final event")
        try await publisher.enqueue(nextMessage(kind), acks: acks, cancellable: true)
        uncounted += 1
    }

    /// Produces a delta without waiting, from the thread that reads the provider's response. When
    /// librdkafka's queue is full, the event is produced by the returned wait instead (the reader
    /// pauses until then, so the stream's order holds). Throws when the producer refuses it.
    mutating func offer(_ kind: ChunkEvent.Kind) throws -> DeltaBackpressure? {
        precondition(isOpen, "chunk event after the stream's final event")
        let message = nextMessage(kind)
        uncounted += 1
        if try publisher.enqueueNow(message, acks: acks) { return nil }
        publisher.metrics.chunkBackpressure.increment()
        let publisher = self.publisher
        let acks = self.acks
        return DeltaBackpressure { try await publisher.enqueue(message, acks: acks, cancellable: true) }
    }

    /// Ends the stream with `end` once every earlier event is acknowledged, and waits for the
    /// `end` itself. When an earlier event failed, the stream is aborted instead (retrying as told).
    mutating func end(finishReason: String?, retryingOnFailure: Bool) async -> Ending {
        if let error = await acks.waitForAll() {
            await abort(reason: "chunk_delivery", retrying: retryingOnFailure)
            return .deliveryFailed(error)
        }
        await emitFinal(.end(finishReason: finishReason))
        if let error = await acks.waitForAll() { return .deliveryFailed(error) }
        return .ended
    }

    /// Ends the stream with `abort`, unless it already ended; waits for its acknowledgements.
    mutating func abort(reason: String, retrying: Bool) async {
        guard isOpen else { return }
        await emitFinal(.abort(reason: reason, retrying: retrying))
        _ = await acks.waitForAll()
    }

    /// The final event goes out even when the task is cancelled: a cancelled stream still ends.
    private mutating func emitFinal(_ kind: ChunkEvent.Kind) async {
        let message = nextMessage(kind)
        isOpen = false
        if (try? await publisher.enqueue(message, acks: acks, cancellable: false)) != nil {
            uncounted += 1
        }
        publisher.metrics.chunkEvents.increment(by: uncounted)
        uncounted = 0
    }

    private mutating func nextMessage(_ kind: ChunkEvent.Kind) -> OutgoingMessage {
        let value = encoder.encode(seq: nextSeq, kind: kind)
        nextSeq += 1
        return OutgoingMessage(topic: topic, key: key, value: value)
    }
}
