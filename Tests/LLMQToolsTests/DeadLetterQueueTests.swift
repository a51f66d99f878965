import Foundation
import LLMQCore
import LLMQKafka
import LLMQMockLLM
import LLMQTestSupport
import LLMQTools
import LLMQWorker
import Testing

/// `llmq dlq list` and `llmq dlq replay` against the mock cluster.
@Suite("Dead-letter list and replay", .serialized)
struct DeadLetterQueueTests {
    static let jobs = "t.jobs"
    static let dlq = "t.jobs.dlq"

    /// A dead letter as the worker writes it: the job's bytes, key and own headers, plus the worker's headers.
    static func deadLetter(job: [UInt8], key: String?, status: String, kind: String, jobID: String?, own: [KafkaHeader] = [],
                           sourceOffset: Int64) -> OutgoingMessage {
        var headers = own + [
            KafkaHeader(key: DeadLetterHeaders.status, string: status),
            KafkaHeader(key: DeadLetterHeaders.errorKind, string: kind),
            KafkaHeader(key: DeadLetterHeaders.errorMessage, string: "\(kind) happened"),
            KafkaHeader(key: DeadLetterHeaders.attempts, string: status == "invalid" ? "0" : "3"),
            KafkaHeader(key: DeadLetterHeaders.sourceTopic, string: jobs),
            KafkaHeader(key: DeadLetterHeaders.sourcePartition, string: "0"),
            KafkaHeader(key: DeadLetterHeaders.sourceOffset, string: "\(sourceOffset)"),
        ]
        if let jobID { headers.append(KafkaHeader(key: DeadLetterHeaders.jobID, string: jobID)) }
        return OutgoingMessage(topic: dlq, key: key.map { Array($0.utf8) }, value: job, headers: headers)
    }

    static let jobA = Array(#"{"id": "job-a", "prompt": "a"}"#.utf8)
    static let jobB = Array(#"{"id":"job-b","prompt":"b"}"#.utf8)
    static let notJSON: [UInt8] = Array("not json \u{1}".utf8)

    struct Fixture {
        let cluster: MockCluster
        let queue: DeadLetterQueue
        let producer: KafkaProducer

        init() async throws {
            cluster = try MockCluster()
            try cluster.createTopic(DeadLetterQueueTests.jobs, partitions: 2)
            try cluster.createTopic(DeadLetterQueueTests.dlq, partitions: 1)
            producer = try KafkaProducer(config: producerConfig(cluster))
            queue = try DeadLetterQueue(kafka: KafkaConfig(["bootstrap.servers": cluster.bootstrapServers, "log_level": "3"]),
                                        topic: DeadLetterQueueTests.dlq, jobsTopic: DeadLetterQueueTests.jobs)
            for message in [
                deadLetter(job: jobA, key: "job-a", status: "failed", kind: "http_500", jobID: "job-a",
                           own: [KafkaHeader(key: "trace", string: "abc"), KafkaHeader(key: "empty", value: nil)], sourceOffset: 4),
                deadLetter(job: notJSON, key: nil, status: "invalid", kind: "invalid_json", jobID: nil, sourceOffset: 5),
                deadLetter(job: jobB, key: "job-b", status: "failed", kind: "timeout_first_chunk", jobID: "job-b", sourceOffset: 6),
            ] {
                try await producer.send(message)
            }
        }

        /// Everything now on the jobs topic.
        func jobsTopic() async throws -> [ConsumerMessage] {
            let admin = try KafkaAdmin(config: KafkaConfig(["bootstrap.servers": cluster.bootstrapServers, "log_level": "3"]))
            let ranges = try await admin.watermarks(topic: DeadLetterQueueTests.jobs).mapValues { $0.low..<$0.high }
            var result: [ConsumerMessage] = []
            for try await m in try TopicScanner(config: KafkaConfig(["bootstrap.servers": cluster.bootstrapServers, "log_level": "3"]))
                .scan(topic: DeadLetterQueueTests.jobs, ranges: ranges) { result.append(m) }
            return result
        }

        func close() async { await producer.close() }
    }

    @Test("list reads every dead letter with its headers, and filters by status, kind, job and time")
    func listAndFilter() async throws {
        let f = try await Fixture()
        func list(_ filter: DeadLetterFilter) async throws -> [DeadLetter] {
            var letters: [DeadLetter] = []
            try await f.queue.list(filter) { letters.append($0) }
            return letters
        }
        let all = try await list(DeadLetterFilter())
        #expect(all.map(\.position.offset) == [0, 1, 2])
        #expect(all.map(\.status) == ["failed", "invalid", "failed"])
        let a = all[0]
        #expect(a.jobID == "job-a" && a.errorKind == "http_500" && a.attempts == 3 && a.replays == 0)
        #expect(a.source == TopicPartitionOffset(TopicPartition(Self.jobs, 0), offset: 4))
        #expect(a.jobHeaders == [KafkaHeader(key: "trace", string: "abc"), KafkaHeader(key: "empty", value: nil)])
        #expect(a.timestamp.map { abs($0.timeIntervalSinceNow) < 600 } == true)
        #expect(try await list(DeadLetterFilter(status: "failed")).map(\.jobID) == ["job-a", "job-b"])
        #expect(try await list(DeadLetterFilter(errorKind: "invalid_json")).map(\.position.offset) == [1])
        #expect(try await list(DeadLetterFilter(jobID: "job-b")).map(\.errorKind) == ["timeout_first_chunk"])
        #expect(try await list(DeadLetterFilter(since: Date().addingTimeInterval(3600))).isEmpty)
        #expect(try await list(DeadLetterFilter(until: Date().addingTimeInterval(3600))).count == 3)
        #expect(try await f.queue.count() == 3)
        // JSON lines keep the job text (or base64 when it is not UTF-8) and the headers' facts.
        let line = try #require(JSONSerialization.jsonObject(with: Data(a.jsonLine().utf8)) as? [String: Any])
        #expect(line["job"] as? String == String(decoding: Self.jobA, as: UTF8.self))
        #expect(line["offset"] as? Int == 0 && line["error_kind"] as? String == "http_500" && line["replays"] as? Int == 0)
        #expect(DeadLetter.table(all).split(separator: "\n").count == 4)
        await f.close()
    }

    @Test("replay: byte for byte with the job's own headers, counted and marked; --dry-run produces nothing; twice enqueues once; invalid only with --force")
    func replayIdempotent() async throws {
        let f = try await Fixture()
        let dry = try await f.queue.replay(DeadLetterFilter(), dryRun: true)
        #expect(dry.matched == 3 && dry.replayed == 2 && dry.invalidSkipped == 1 && dry.alreadyReplayed == 0)
        #expect(try await f.jobsTopic().isEmpty, "--dry-run produced something")

        var totals: [Int] = []
        var progress: [Int] = []
        let first = try await f.queue.replay(DeadLetterFilter(), willReplay: { totals.append($0) }, progress: { progress.append($0) })
        #expect(first.replayed == 2 && first.invalidSkipped == 1)
        #expect(totals == [2] && progress.last == 2)
        let replayed = try await f.jobsTopic().sorted { $0.keyString ?? "" < $1.keyString ?? "" }
        try #require(replayed.count == 2)
        #expect(replayed[0].value == Self.jobA && replayed[0].keyString == "job-a")
        #expect(replayed[0].headers == [
            KafkaHeader(key: "trace", string: "abc"), KafkaHeader(key: "empty", value: nil),
            KafkaHeader(key: DeadLetterHeaders.replays, string: "1"),
            KafkaHeader(key: DeadLetterHeaders.replayOf, string: "\(Self.dlq)/0/0"),
        ])
        #expect(replayed[1].value == Self.jobB && replayed[1].headers.string(DeadLetterHeaders.replayOf) == "\(Self.dlq)/0/2")
        #expect(!replayed.contains { $0.headers.contains { DeadLetterHeaders.added.contains($0.key) } }, "dead-letter headers leaked")

        let again = try await f.queue.replay(DeadLetterFilter())
        #expect(again.replayed == 0 && again.alreadyReplayed == 2 && again.scannedJobs == 2)
        #expect(try await f.jobsTopic().count == 2, "a second replay enqueued again")

        let forced = try await f.queue.replay(DeadLetterFilter(status: "invalid"), force: true)
        #expect(forced.replayed == 1)
        let all = try await f.jobsTopic()
        #expect(all.count == 3)
        let invalid = try #require(all.first { $0.headers.string(DeadLetterHeaders.replayOf) == "\(Self.dlq)/0/1" })
        #expect(invalid.value == Self.notJSON && invalid.key == nil)
        await f.close()
    }

    @Test("a replayed job that fails again lands in the dead-letter topic with llmq.replays counted on")
    func replayCountSurvivesAnotherFailure() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 2)
        try await bed.enqueue(id: "keeps-failing", directive: "fail=401")
        let worker = InProcessWorker(try bed.configuration())
        try await bed.deadLetters.waitFor("the first dead letter") { $0.count == 1 }
        let queue = try DeadLetterQueue(kafka: KafkaConfig(["bootstrap.servers": bed.cluster.bootstrapServers, "log_level": "3"]),
                                        topic: WorkerTestbed.deadLetterTopic, jobsTopic: WorkerTestbed.jobsTopic)
        #expect(try await queue.replay(DeadLetterFilter(jobID: "keeps-failing")).replayed == 1)
        let letters = try await bed.deadLetters.waitFor("the replay's dead letter") { $0.count == 2 }.map(DeadLetter.init)
        #expect(letters.map(\.replays) == [0, 1])
        #expect(letters[1].replayOf == "\(WorkerTestbed.deadLetterTopic)/0/\(letters[0].position.offset)")
        #expect(letters[1].value == letters[0].value)
        // Replaying the new dead letter counts on; the old one stays replayed once.
        let second = try await queue.replay(DeadLetterFilter(jobID: "keeps-failing"))
        #expect(second.replayed == 1 && second.alreadyReplayed == 1)
        let third = try await bed.deadLetters.waitFor("the second replay's dead letter") { $0.count == 3 }.map(DeadLetter.init)
        #expect(third[2].replays == 2)
        try await worker.stop()
        await bed.close()
    }
}
