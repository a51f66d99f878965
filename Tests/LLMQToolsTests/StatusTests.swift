import Foundation
import LLMQHarness
import LLMQKafka
import LLMQTestSupport
import LLMQTesting
import LLMQTools
import LLMQWorker
import Synchronization
import Testing

/// `llmq status` against the mock cluster: lag from the broker, members from the workers' metrics.
@Suite("Group status", .serialized)
struct StatusTests {
    @Test("lag per partition is the high watermark minus the committed offset, as the broker reports them")
    func lagMatchesTheBroker() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic("s.jobs", partitions: 3)
        try cluster.createTopic("s.dlq", partitions: 2)
        let producer = try KafkaProducer(config: producerConfig(cluster))
        let produced: [Int32: Int] = [0: 5, 1: 7, 2: 4]
        for (partition, count) in produced {
            for i in 0..<count { try await producer.send(OutgoingMessage(topic: "s.jobs", partition: partition, value: Array("j\(i)".utf8))) }
        }
        for partition: Int32 in [0, 1, 1] { try await producer.send(OutgoingMessage(topic: "s.dlq", partition: partition, value: [1])) }

        // A member of the group commits 2 on partition 0 and 7 (everything) on partition 1; nothing on 2.
        let group = uniqueName("status")
        let consumer = try KafkaConsumer(config: fastGroupConfig(cluster, group: group))
        try consumer.subscribe(topics: ["s.jobs"])
        try await waitUntil("the assignment", timeout: .seconds(60)) { consumer.assignment.count == 3 }
        try consumer.storeOffsets([TopicPartitionOffset(TopicPartition("s.jobs", 0), offset: 2),
                                   TopicPartitionOffset(TopicPartition("s.jobs", 1), offset: 7)])
        try await consumer.commit()

        let kafka = KafkaConfig(["bootstrap.servers": cluster.bootstrapServers, "log_level": "3"])
        let collector = try StatusCollector(kafka: kafka, group: group, jobsTopic: "s.jobs", deadLetterTopic: "s.dlq", metricsPort: 0)
        let status = try await collector.snapshot()
        #expect(status.partitions.map(\.partition) == [0, 1, 2])
        #expect(status.partitions.map(\.lag) == [3, 0, 4])
        #expect(status.partitions.map(\.committed) == [2, 7, nil])
        #expect(status.partitions.map(\.high) == [5, 7, 4])
        #expect(status.totalLag == 7)
        #expect(status.deadLetters == 3)
        // The same numbers from the broker directly: committed offsets through the group's own consumer.
        let committed = try await consumer.committed((0..<3).map { TopicPartition("s.jobs", $0) })
        let admin = try KafkaAdmin(config: kafka)
        let marks = try await admin.watermarks(topic: "s.jobs")
        for entry in committed where entry.offset >= 0 {
            let p = entry.topicPartition.partition
            #expect(status.partitions[Int(p)].lag == marks[p]!.high - entry.offset)
        }
        // The mock cluster cannot describe groups: status says so instead of inventing members.
        #expect(status.membersSource == "metrics" && status.members.isEmpty && status.note != nil)
        let json = try #require(JSONSerialization.jsonObject(with: Data(status.json().utf8)) as? [String: Any])
        #expect(json["lag"] as? Int == 7 && json["dead_letters"] as? Int == 3)
        #expect(status.table().contains("lag 7 jobs"))

        // Rate and drain time from two snapshots: 3 more jobs consumed in the meantime.
        try consumer.storeOffsets([TopicPartitionOffset(TopicPartition("s.jobs", 0), offset: 5)])
        try await consumer.commit()
        var later = try await collector.snapshot()
        later.takenAt = status.takenAt.addingTimeInterval(2)
        later.measureRate(since: status)
        #expect(later.rate == 1.5 && later.totalLag == 4)
        #expect(later.drainSeconds.map { abs($0 - 4 / 1.5) < 0.001 } == true)
        await consumer.close()
        await producer.close()
    }

    @Test("members and their partitions follow the group while a second worker joins")
    func membersWhileASecondWorkerJoins() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 6)
        let extra = ["kafka.statistics.interval.ms=300", "kafka.session.timeout.ms=6000", "kafka.heartbeat.interval.ms=500"]
        let a = try LLMQProcess(workerSettings: bed.settings(extra: extra + ["worker.id=sa"]), name: "status-a")
        try await waitUntil("worker a's metrics address", timeout: .seconds(60)) { a.metricsBaseURL != nil }
        let kafka = KafkaConfig(["bootstrap.servers": bed.cluster.bootstrapServers, "log_level": "3"])
        func collector(_ workers: [LLMQProcess]) throws -> StatusCollector {
            try StatusCollector(kafka: kafka, group: bed.group, jobsTopic: WorkerTestbed.jobsTopic,
                                deadLetterTopic: WorkerTestbed.deadLetterTopic, metricsPort: 0,
                                metricsURLs: workers.compactMap(\.metricsBaseURL))
        }
        let one = try collector([a])
        try await waitUntil("worker a owns all 6 partitions", timeout: .seconds(60)) {
            try await one.snapshot().members.first?.partitions == [0, 1, 2, 3, 4, 5]
        }
        let b = try LLMQProcess(workerSettings: bed.settings(extra: extra + ["worker.id=sb"]), name: "status-b")
        try await waitUntil("worker b's metrics address", timeout: .seconds(60)) { b.metricsBaseURL != nil }
        let two = try collector([a, b])
        let last = Mutex<GroupStatus?>(nil)
        try await waitUntil("the partitions split between a and b", timeout: .seconds(90)) {
            let status = try await two.snapshot()
            last.withLock { $0 = status }
            let owned = status.members.map(\.partitions)
            return owned.count == 2 && owned.allSatisfy { !$0.isEmpty } && Set(owned.joined()).count == 6 && owned.joined().count == 6
        }
        let status = try #require(last.withLock { $0 })
        #expect(status.members.map(\.inFlight) == [0, 0])
        #expect(status.partitions.allSatisfy { $0.owner != nil })
        #expect(status.totalLag == 0)
        a.signal(SIGTERM)
        b.signal(SIGTERM)
        #expect(try await a.waitForExit() == 0)
        #expect(try await b.waitForExit() == 0)
        await bed.close()
    }
}
