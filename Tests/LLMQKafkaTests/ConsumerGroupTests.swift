import Foundation
import LLMQKafka
import LLMQTestSupport
import LLMQTesting
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
        let a = try KafkaConsumer(config: fastGroupConfig(cluster, group: group), rebalanceHandler: { await recorderA.record($0) })
        try a.subscribe(topics: ["split"])
        try await waitUntil("first member owns all 4 partitions") { a.assignment.count == 4 }

        let b = try KafkaConsumer(config: fastGroupConfig(cluster, group: group), rebalanceHandler: { await recorderB.record($0) })
        try b.subscribe(topics: ["split"])
        try await waitUntil("the two members split the partitions") {
            a.assignment.count == 2 && b.assignment.count == 2
        }
        #expect(a.assignment.isDisjoint(with: b.assignment))
        // Cooperative: A gave up exactly what B took, and never lost the rest. (The handler hears of
        // an assignment just after the consumer records it: wait for it rather than race it.)
        try await waitUntil("the handlers heard the same assignments") {
            let (heardA, heardB) = (await recorderA.assigned, await recorderB.assigned)
            return heardA == a.assignment && heardB == b.assignment
        }

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

    @Test("a full consumer pauses fetching at its read-ahead bound yet stays in the group past max.poll.interval.ms")
    func fullConsumerStaysInGroup() async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("full", partitions: 2)
        let recorder = RebalanceRecorder()
        let consumer = try KafkaConsumer(config: fastGroupConfig(cluster, group: uniqueName("full")),
                                         limits: FlowLimits(maxInFlight: 1, readAheadMessages: 4),
                                         rebalanceHandler: { await recorder.record($0) })
        try consumer.subscribe(topics: ["full"])
        try await waitUntil("assignment") { consumer.assignment.count == 2 }
        let producer = try KafkaProducer(config: producerConfig(cluster))
        for i in 0..<40 { try await producer.send(OutgoingMessage(topic: "full", key: "k\(i)", value: "v\(i)")) }

        let held = try #require(await consumer.next())
        try await waitUntil("fetching pauses once 4 messages wait") { !consumer.isFetching }
        #expect(consumer.bufferedMessageCount < 40)
        // The point of this test is time passing: 1.5 × max.poll.interval.ms (3 s) with the only
        // lease held and fetching paused; the poll thread must keep the membership alive.
        try await Task.sleep(for: .milliseconds(4500))
        #expect(await recorder.events.count == 1, "no revoke: the member never left the group")
        #expect(consumer.assignment.count == 2)

        consumer.finish(held, completed: true)
        var offsets: [TopicPartition: [Int64]] = [:]
        offsets[held.message.topicPartition, default: []].append(held.message.offset)
        for _ in 1..<40 {
            let lease = try #require(await consumer.next())
            #expect(consumer.inFlight == 1, "never more leases than maxInFlight")
            offsets[lease.message.topicPartition, default: []].append(lease.message.offset)
            consumer.finish(lease, completed: true)
        }
        #expect(offsets.values.map(\.count).reduce(0, +) == 40)
        for list in offsets.values { #expect(list == list.sorted(), "per-partition order") }
        await consumer.close()
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
                                         limits: FlowLimits(maxInFlight: .max, readAheadMessages: 50, storesOffsets: false))
        try consumer.subscribe(topics: ["backlog"])
        try await waitUntil("the buffer fills and fetching pauses") { consumer.bufferedMessageCount >= 50 && !consumer.isFetching }
        // What was already on its way when fetching paused may still arrive; the bound holds well below the backlog.
        #expect(consumer.bufferedMessageCount < 300, "\(consumer.bufferedMessageCount) buffered")
        let messages = try await collect(600, from: consumer)
        #expect(messages.map(\.offset) == (0..<600).map(Int64.init))
        await consumer.close()
        await producer.close()
    }

    @Test("finished leases store offsets only below the oldest unfinished one, whatever the finishing order")
    func leasesStoreOffsetsInOrder() async throws {
        let cluster = try MockCluster(brokers: 1)
        try cluster.createTopic("leases", partitions: 1)
        let producer = try KafkaProducer(config: producerConfig(cluster))
        for i in 0..<6 { try await producer.send(OutgoingMessage(topic: "leases", key: "k", value: "\(i)")) }
        let group = uniqueName("leases")
        let first = try KafkaConsumer(config: fastGroupConfig(cluster, group: group), limits: FlowLimits(maxInFlight: 6, readAheadMessages: 100))
        try first.subscribe(topics: ["leases"])
        var leases: [ConsumerLease] = []
        for _ in 0..<6 { leases.append(try #require(await first.next())) }
        // 0, 1, 3, 4 finish; 2 is still running, 5 failed (not completed).
        for i in [4, 0, 3, 1] { first.finish(leases[i], completed: true) }
        first.finish(leases[5], completed: false)
        try await first.commit()
        let committed = try await first.committed([TopicPartition("leases", 0)])
        #expect(committed.first?.offset == 2, "stored below the unfinished job at offset 2")
        await first.close()
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
