import Foundation
import LLMQKafka
import LLMQTestSupport
import LLMQTesting
import Testing

@Suite("Kafka producer and consumer against the mock cluster")
struct ProducerConsumerTests {
    @Test("round trip keeps key, value and headers; per-key order holds over many messages")
    func roundTripAndOrder() async throws {
        let cluster = try MockCluster(brokers: 3)
        try cluster.createTopic("orders", partitions: 4)
        let producer = try KafkaProducer(config: producerConfig(cluster))
        let report = try await producer.send(OutgoingMessage(
            topic: "orders", key: "k-first", value: "hello",
            headers: [KafkaHeader(key: "h1", string: "v1"), KafkaHeader(key: "empty", value: nil)]))
        #expect(report.offset >= 0)

        // Many messages in flight at once: one handler per message, no waiting in between.
        let keys = (0..<20).map { "key-\($0)" }
        let perKey = 100
        let outcomes = DeliveryCounter()
        for i in 0..<perKey {
            for key in keys {
                try await producer.produce(OutgoingMessage(topic: "orders", key: key, value: "\(key):\(i)"), handler: outcomes)
            }
        }
        try await producer.flush(timeout: .seconds(30))
        #expect(outcomes.counts == (keys.count * perKey, 0))

        let consumer = try KafkaConsumer(config: fastGroupConfig(cluster, group: uniqueName("g")))
        try consumer.subscribe(topics: ["orders"])
        let messages = try await collect(1 + keys.count * perKey, from: consumer)
        let first = try #require(messages.first { $0.keyString == "k-first" })
        #expect(first.valueString == "hello")
        #expect(first.headers == [KafkaHeader(key: "h1", string: "v1"), KafkaHeader(key: "empty", value: nil)])
        #expect(first.timestampMs != nil)

        var seen: [String: [Int]] = [:]
        for message in messages where message.keyString != "k-first" {
            let parts = message.valueString.split(separator: ":")
            seen[String(parts[0]), default: []].append(Int(parts[1])!)
        }
        for key in keys { #expect(seen[key] == Array(0..<perKey), "order of \(key)") }
        await consumer.close()
        await producer.close()
    }

    @Test("an invalid property is rejected with librdkafka's message naming it")
    func invalidConfig() throws {
        let error = try #require(throws: KafkaError.self) {
            try KafkaConfig(["no.such.property": "1"]).validate()
        }
        #expect(error.code == .configuration)
        #expect(error.message.contains("no.such.property"))
        let badValue = try #require(throws: KafkaError.self) {
            _ = try KafkaProducer(config: KafkaConfig(["acks": "sometimes"]))
        }
        #expect(badValue.message.contains("acks"))
        #expect(throws: KafkaError.self) { _ = try KafkaConsumer(config: KafkaConfig(["bootstrap.servers": "127.0.0.1:1"])) }
    }

    @Test("injected produce errors are retried by librdkafka, or surface as errors: never a crash or a hang")
    func injectedProduceErrors() async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("faulty", partitions: 1)
        let producer = try KafkaProducer(config: producerConfig(cluster))
        // Retriable errors: the idempotent producer retries and the message arrives once.
        cluster.pushRequestErrors(.produce, [KafkaErrorCodes.notEnoughReplicas, KafkaErrorCodes.requestTimedOut])
        let report = try await producer.send(OutgoingMessage(topic: "faulty", key: "a", value: "survives"))
        #expect(report.offset == 0)

        // A permanent error reaches the caller as a delivery error.
        cluster.pushRequestErrors(.produce, [KafkaErrorCodes.topicAuthorizationFailed])
        let error = try await #require(throws: KafkaError.self) {
            try await producer.send(OutgoingMessage(topic: "faulty", key: "b", value: "refused"))
        }
        #expect(error.code == .delivery)
        #expect(error.rdErrorName == "TOPIC_AUTHORIZATION_FAILED")

        // A message that cannot be delivered in time fails with a timeout instead of hanging.
        let impatient = try KafkaProducer(config: producerConfig(cluster, extra: ["message.timeout.ms": "1500", "enable.idempotence": "false", "acks": "1"]))
        try cluster.setBrokerDown(1)
        let timeout = try await #require(throws: KafkaError.self) {
            try await impatient.send(OutgoingMessage(topic: "faulty", key: "c", value: "late"))
        }
        #expect(timeout.rdErrorName == "_MSG_TIMED_OUT")
        try cluster.setBrokerUp(1)
        await impatient.close(timeout: .seconds(5))
        await producer.close(timeout: .seconds(5))
    }
}

/// Counts delivery outcomes from the producer's poll thread.
final class DeliveryCounter: DeliveryHandler {
    private let state = Mutex<(ok: Int, failed: Int)>((0, 0))
    func deliveryCompleted(_ result: Result<DeliveryReport, KafkaError>) {
        state.withLock { if case .success = result { $0.ok += 1 } else { $0.failed += 1 } }
    }
    var counts: (Int, Int) { state.withLock { ($0.ok, $0.failed) } }
}

import Synchronization
