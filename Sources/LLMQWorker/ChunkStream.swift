import LLMQCore
import LLMQKafka

/// One provider call's chunk events: numbers them from 0 without gaps and produces them keyed by
/// job id, without waiting for each acknowledgement (the deliveries are counted in `deliveries`).
struct ChunkStream {
    let producer: KafkaProducer
    let topic: String
    let key: [UInt8]
    let jobID: String
    let streamID: String
    let attempt: Int
    let deliveries: JobDeliveries
    let metrics: WorkerMetrics
    private(set) var nextSeq = 0

    init(producer: KafkaProducer, topic: String, key: [UInt8], jobID: String, streamID: String, attempt: Int,
         deliveries: JobDeliveries, metrics: WorkerMetrics) {
        self.producer = producer
        self.topic = topic
        self.key = key
        self.jobID = jobID
        self.streamID = streamID
        self.attempt = attempt
        self.deliveries = deliveries
        self.metrics = metrics
    }

    /// Produces the next event. Throws when the producer refuses it (the attempt then fails).
    mutating func emit(_ kind: ChunkEvent.Kind) async throws {
        let message = nextMessage(kind)
        do {
            try await producer.produce(message, handler: deliveries)
        } catch let error as KafkaError {
            deliveries.produceRefused(error)
            metrics.produceError(topic: topic)
            throw error
        } catch {
            // Cancelled while the producer queue was full: the event was never queued.
            deliveries.produceRefused(KafkaError(code: .produce, message: "cancelled while the producer queue was full"))
            throw error
        }
        metrics.chunkEvents.increment()
    }

    /// Produces the final event without honouring cancellation: a cancelled stream still ends with `abort`.
    mutating func emitFinal(_ kind: ChunkEvent.Kind) {
        let message = nextMessage(kind)
        do {
            try producer.produceNow(message, handler: deliveries)
            metrics.chunkEvents.increment()
        } catch let error as KafkaError {
            deliveries.produceRefused(error)
            metrics.produceError(topic: topic)
        } catch {
            deliveries.produceRefused(KafkaError(code: .produce, message: "\(error)"))
        }
    }

    /// The next event as a message, numbered and counted as awaiting its acknowledgement.
    private mutating func nextMessage(_ kind: ChunkEvent.Kind) -> OutgoingMessage {
        let event = ChunkEvent(jobID: jobID, streamID: streamID, attempt: attempt, seq: nextSeq, kind: kind)
        nextSeq += 1
        deliveries.willProduce()
        return OutgoingMessage(topic: topic, key: key, value: event.encoded())
    }
}
