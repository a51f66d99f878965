import LLMQHarness
import Foundation
import LLMQKafka
import LLMQTestSupport
import Synchronization
import Testing

@Suite("Consumer groups, pause and offsets against the mock cluster")
struct ConsumerGroupTests {
    @Test("two consumers in one group split the partitions; one takes all when the other closes")
    func groupSplitAndTakeover() async throws {
        let cluster = try MockCluster(brokers: 2)
        try cluster.createTopic("split", partitions: 4)
        let group = uniqueName("split")
        let recorderA = RebalanceRecorder()
        let recorderB = RebalanceRecorder()
        let a = try KafkaConsumer(config: fastGroupConfig(cluster, group: group)) { await recorderA.record($0) }
        try a.subscribe(topics: ["split"])
        try await waitUntil("first member owns all 4 partitions") { a.assignment.count == 4 }

        let b = try KafkaConsumer(config: fastGroupConfig(cluster, group: group)) { await recorderB.record($0) }
        try b.subscribe(topics: ["split"])
        try await waitUntil("the two members split the partitions") {
            a.assignment.count == 2 && b.assignment.count == 2
        }
        #expect(a.assignment.isDisjoint(with: b.assignment))
        // Cooperative: A gave up exactly what B took, and never lost the rest.
        #expect(await recorderA.assigned == a.assignment)
        #expect(await recorderB.assigned == b.assignment)

        // Messages for every partition reach the member that owns it.
        let producer = try KafkaProducer(config: producerConfig(cluster))
        for p in Int32(0)..<4 { try await producer.send(OutgoingMessage(topic: "split", partition: p, value: Array("m\(p)".utf8))) }
        async let fromA = collect(2, from: a)
        async let fromB = collect(2, from: b)
        let partitionsA = Set(try await fromA.map(\.partition))
        let partitionsB = Set(try await fromB.map(\.partition))
        #expect(partitionsA == Set(a.assignment.map(\.partition)))
        #expect(partitionsB == Set(b.assignment.map(\.partition)))

        await b.close()
        #expect(await recorderB.assigned.isEmpty, "closing revoked everything through the handler")
        try await waitUntil("the remaining member takes all partitions") { a.assignment.count == 4 }
        await a.close()
        await producer.close()
    }

    @Test("a paused consumer receives nothing yet stays in the group past max.poll.interval.ms")
    func pausedConsumerStaysInGroup() async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("paused", partitions: 2)
        let recorder = RebalanceRecorder()
        let consumer = try KafkaConsumer(config: fastGroupConfig(cluster, group: uniqueName("pause"))) { await recorder.record($0) }
        try consumer.subscribe(topics: ["paused"])
        try await waitUntil("assignment") { consumer.assignment.count == 2 }
        try consumer.pause(Array(consumer.assignment))

        let producer = try KafkaProducer(config: producerConfig(cluster))
        for i in 0..<10 { try await producer.send(OutgoingMessage(topic: "paused", key: "k\(i)", value: "v\(i)")) }

        let received = Mutex(0)
        let reader = Task {
            for await _ in consumer.messages { received.withLock { $0 += 1 } }
        }
        // The point of this test is time passing: 1.5 × max.poll.interval.ms (3 s) while paused.
        try await Task.sleep(for: .milliseconds(4500))
        #expect(received.withLock { $0 } == 0)
        #expect(await recorder.events.count == 1, "no revoke: the member never left the group")
        #expect(consumer.assignment.count == 2)

        try consumer.resume(Array(consumer.assignment))
        try await waitUntil("messages after resume") { received.withLock { $0 } == 10 }
        await consumer.close()
        reader.cancel()
        await producer.close()
    }

    @Test("a slow reader bounds what is fetched ahead; every message still arrives once, in order")
    func boundedBuffer() async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("backlog", partitions: 1)
        let producer = try KafkaProducer(config: producerConfig(cluster))
        let counter = DeliveryCounter()
        for i in 0..<600 { try await producer.produce(OutgoingMessage(topic: "backlog", key: "k", value: "\(i)"), handler: counter) }
        try await producer.flush(timeout: .seconds(30))
        let consumer = try KafkaConsumer(config: fastGroupConfig(cluster, group: uniqueName("bounded"), extra: ["max.partition.fetch.bytes": "2048"]),
                                         maxBufferedMessages: 50)
        try consumer.subscribe(topics: ["backlog"])
        try await waitUntil("the buffer fills") { consumer.bufferedMessageCount >= 50 }
        // Nobody reads for a while: fetching has paused, so the buffer stops near its bound.
        try await Task.sleep(for: .seconds(1))
        #expect(consumer.bufferedMessageCount < 300, "\(consumer.bufferedMessageCount) buffered")
        let messages = try await collect(600, from: consumer)
        #expect(messages.map(\.offset) == (0..<600).map(Int64.init))
        await consumer.close()
        await producer.close()
    }

    @Test("a restarted consumer resumes at stored offsets; unstored messages are redelivered")
    func storedOffsetsAreResumePoints() async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("resume", partitions: 1)
        let producer = try KafkaProducer(config: producerConfig(cluster))
        for i in 0..<10 { try await producer.send(OutgoingMessage(topic: "resume", key: "k", value: "\(i)")) }
        let group = uniqueName("resume")

        let first = try KafkaConsumer(config: fastGroupConfig(cluster, group: group, extra: ["enable.auto.commit": "true", "auto.commit.interval.ms": "200"]))
        try first.subscribe(topics: ["resume"])
        let batch = try await collect(10, from: first)
        #expect(batch.map(\.valueString) == (0..<10).map(String.init))
        // Only the first 6 are "done": store next-offset 6.
        try first.storeOffsets([TopicPartitionOffset(TopicPartition("resume", 0), offset: 6)])
        try await first.commit()
        await first.close()

        let second = try KafkaConsumer(config: fastGroupConfig(cluster, group: group))
        try second.subscribe(topics: ["resume"])
        let redelivered = try await collect(4, from: second)
        #expect(redelivered.map(\.offset) == [6, 7, 8, 9])
        let committed = try await second.committed([TopicPartition("resume", 0)])
        #expect(committed.first?.offset == 6)
        await second.close()
        await producer.close()
    }
}
