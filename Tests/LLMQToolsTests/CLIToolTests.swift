import Foundation
import LLMQCore
import LLMQHarness
import LLMQKafka
import LLMQMockLLM
import LLMQTestSupport
import LLMQTesting
import LLMQTools
import LLMQWorker
import Synchronization
import Testing

/// The pieces behind `llmq dev-broker`, `llmq enqueue` and `llmq tail`, over real sockets.
@Suite("CLI tools: dev-broker, enqueue, tail", .serialized)
struct CLIToolTests {
    @Test("llmq dev-broker prints its bootstrap servers first, and any client can use the cluster")
    func devBroker() async throws {
        let broker = try LLMQProcess(["dev-broker", "--brokers", "2", "--topic", "cli.t:3"], name: "dev-broker")
        try await waitUntil("the bootstrap line") { broker.log.contains("\n") }
        let bootstrap = String(broker.log.split(separator: "\n").first ?? "")
        #expect(bootstrap.split(separator: ",").count == 2, "\(bootstrap)")
        let producer = try KafkaProducer(config: KafkaConfig(["bootstrap.servers": bootstrap, "log_level": "3"]))
        let report = try await producer.send(OutgoingMessage(topic: "cli.t", key: "k", value: "v"))
        #expect((0..<3).contains(report.partition))
        let consumer = try KafkaConsumer(config: KafkaConfig([
            "bootstrap.servers": bootstrap, "group.id": uniqueName("cli"), "auto.offset.reset": "earliest",
            "session.timeout.ms": "3000", "heartbeat.interval.ms": "300", "log_level": "3",
        ]))
        try consumer.subscribe(topics: ["cli.t"])
        let messages = try await collect(1, from: consumer)
        #expect(messages.first?.valueString == "v")
        await consumer.close()
        await producer.close()
        broker.signal(SIGINT)
        #expect(try await broker.waitForExit() == 0)
    }

    @Test("enqueue sends JSON lines as they are; tail rebuilds each job's text by the stream rule")
    func enqueueAndTail() async throws {
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12))
        let seen = Mutex<[String: String]>([:])
        let tailer = ChunkTailer(kafka: KafkaConfig(["bootstrap.servers": bed.cluster.bootstrapServers, "log_level": "3",
                                                     "session.timeout.ms": "3000", "heartbeat.interval.ms": "300"]),
                                 topic: WorkerTestbed.chunksTopic, fromBeginning: true)
        let tail = Task {
            try await tailer.run(logger: .init(label: "test.tail")) { event, view in
                if view.isComplete { seen.withLock { $0[event.jobID] = view.text } }
                return true
            }
        }
        let producer = try KafkaProducer(config: producerConfig(bed.cluster))
        let enqueuer = JobEnqueuer(producer: producer, topic: WorkerTestbed.jobsTopic)
        let lines = [
            #"{"id": "line-1", "prompt": "\#(WorkerTestbed.prompt(id: "line-1", directive: ""))"}"#,
            "not json",
            "",
            #"{"id": "line-2", "prompt": "\#(WorkerTestbed.prompt(id: "line-2", directive: ""))"}"#,
        ]
        #expect(try await enqueuer.enqueue(lines: lines) == 3, "blank lines are skipped")
        let single = try await enqueuer.enqueue(prompt: WorkerTestbed.prompt(id: "single", directive: ""), id: "single")
        #expect(single == "single")
        let worker = InProcessWorker(try bed.configuration())
        try await bed.results.waitFor("four results") { $0.count >= 4 }
        try await waitUntil("tail saw the three jobs end") { seen.withLock { $0.count } == 3 }
        try await worker.stop()
        tail.cancel()
        for id in ["line-1", "line-2", "single"] {
            #expect(seen.withLock { $0[id] } == bed.expectedText(id: id), "\(id)")
        }
        #expect(bed.decodedResults.filter { $0.status == .invalid }.count == 1)
        await producer.close()
        await bed.close()
    }
}
