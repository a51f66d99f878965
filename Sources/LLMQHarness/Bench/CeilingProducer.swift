import Foundation
import LLMQKafka
import Logging

/// The ceiling: librdkafka alone producing chunk-event-sized messages, no worker around it. Runs in
/// its own process (`llmq bench --role ceiling-producer`) so its CPU is measured alone.
public enum CeilingProducer {
    /// What the child reports on its last stdout line, as JSON.
    public struct Report: Codable, Sendable {
        public var messages: Int
        public var seconds: Double
        public var cpuSeconds: Double
    }

    /// Produces `messages` messages of `valueBytes` bytes over `keys` keys, with the worker's producer
    /// settings (idempotent, acks=all, linger.ms=2), through `KafkaProducer.produce(_:handler:)` as the
    /// worker does; times from the first produce to the last delivery report.
    public static func run(brokers: String, topic: String, messages: Int, valueBytes: Int, keys: Int) async throws -> Report {
        let producer = try await warmProducer(brokers: brokers, topic: topic, label: "llmq.bench.ceiling")

        let keyBytes = (0..<max(1, keys)).map { Array("bench-\($0)".utf8) }
        var value = Array(#"{"job_id":"bench-0","stream_id":"w-0-0-1","attempt":1,"seq":1,"type":"delta","delta":""#.utf8)
        while value.count < valueBytes - 2 { value.append(UInt8(ascii: "x")) }
        value += Array(#""}"#.utf8)
        let outgoing = (0..<messages).map { OutgoingMessage(topic: topic, key: keyBytes[$0 % keyBytes.count], value: value) }

        let deliveries = DeliveryCounter()
        deliveries.willProduce(messages)
        let cpuBefore = selfCPUSeconds()
        let start = wallClockMicros()
        for message in outgoing {
            try await producer.produce(message, handler: deliveries)
        }
        try await deliveries.waitForAll(timeout: .seconds(300))
        let end = deliveries.lastDeliveryMicros
        // The waiting loop polls every 50 ms; its CPU is negligible next to the producing.
        let cpu = selfCPUSeconds() - cpuBefore
        await producer.close(timeout: .seconds(5))
        return Report(messages: messages, seconds: Double(end - start) / 1_000_000, cpuSeconds: cpu)
    }
}

/// A producer with the worker's settings (idempotent, acks=all, linger.ms=2) that is connected and
/// has its producer id (one warm-up message to `topic`), so a measurement starts after both.
func warmProducer(brokers: String, topic: String, label: String) async throws -> KafkaProducer {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    let producer = try KafkaProducer(config: KafkaConfig([
        "bootstrap.servers": brokers, "enable.idempotence": "true", "acks": "all", "linger.ms": "2", "log_level": "3",
    ]), logger: logger)
    do {
        try await producer.send(OutgoingMessage(topic: topic, key: "warm-up", value: "{}"))
    } catch {
        await producer.close(timeout: .seconds(5))
        throw error
    }
    return producer
}
