import Foundation
import LLMQCore
import LLMQKafka

/// Puts jobs on the jobs topic: one prompt, or JSON lines passed through as they are (so a malformed
/// line still reaches a worker, which answers it with an `invalid` result and a dead letter).
public struct JobEnqueuer: Sendable {
    let producer: KafkaProducer
    let topic: String

    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    /// A job's JSON for a single prompt.
    public static func jobJSON(id: String, prompt: String, model: String? = nil, stream: Bool = true, system: String? = nil) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.string("id", id)
        if let system {
            writer.key("messages")
            var messages = "["
            var sys = JSONWriter(); sys.beginObject(); sys.string("role", "system"); sys.string("content", system); sys.endObject()
            var user = JSONWriter(); user.beginObject(); user.string("role", "user"); user.string("content", prompt); user.endObject()
            messages += String(decoding: sys.bytes, as: UTF8.self) + "," + String(decoding: user.bytes, as: UTF8.self) + "]"
            writer.rawJSON(messages)
        } else {
            writer.string("prompt", prompt)
        }
        if let model { writer.string("model", model) }
        if !stream { writer.bool("stream", false) }
        writer.endObject()
        return writer.bytes
    }

    /// Enqueues one prompt; returns once the broker has it.
    public func enqueue(prompt: String, id: String = JobEnqueuer.newID(), model: String? = nil, stream: Bool = true) async throws -> String {
        try await producer.send(OutgoingMessage(topic: topic, key: Array(id.utf8), value: Self.jobJSON(id: id, prompt: prompt, model: model, stream: stream)))
        return id
    }

    /// Enqueues each non-empty line as one job, keyed by its `id` when one can be read.
    /// Returns the number of lines sent once the broker has them all; `progress` is told how many
    /// the broker has acknowledged so far.
    public func enqueue(lines: some Sequence<String>, progress: (Int) -> Void = { _ in }) async throws -> Int {
        let deliveries = DeliveryCount()
        var count = 0
        for line in lines where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let bytes = Array(line.utf8)
            let key = (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["id"] as? String
            try await producer.produce(OutgoingMessage(topic: topic, key: key.map { Array($0.utf8) }, value: bytes), handler: deliveries)
            count += 1
            progress(deliveries.count)
        }
        try await deliveries.waitForAll(producer)
        progress(deliveries.count)
        return count
    }

    public static func newID() -> String { "job-" + UUID().uuidString.prefix(8).lowercased() }
}
