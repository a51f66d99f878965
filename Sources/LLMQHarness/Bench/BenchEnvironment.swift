import Foundation
import LLMQKafka
import LLMQTesting
import LLMQTools
import LLMQWorker
import Logging

/// One scenario's world: a fresh embedded cluster with llmq's topics in a child process of its own
/// (`llmq dev-broker`, so its CPU is measured apart from the bench's consumers and the worker's),
/// the provider stand-in as a child process, a producer to enqueue jobs, and worker processes.
final class BenchEnvironment: Sendable {
    static let jobsTopic = WorkerConfiguration.defaults.jobsTopic
    static let chunksTopic = WorkerConfiguration.defaults.chunksTopic
    static let resultsTopic = WorkerConfiguration.defaults.resultsTopic
    static let deadLetterTopic = WorkerConfiguration.defaults.deadLetterTopic
    /// `llmq.chunks` partitions, but in the latency and streams scenarios (`--chunk-partitions`).
    static let defaultChunkPartitions = 12

    /// The broker: `llmq dev-broker`, librdkafka's mock cluster in its own process.
    let broker: LLMQProcess
    let bootstrapServers: String
    let standIn: LLMQProcess?
    let standInPort: Int
    let group = uniqueName("bench-workers")
    let chunkPartitions: Int
    private let producer: KafkaProducer

    /// - Parameter standInArguments: extra `llmq mock-llm` options; nil starts no stand-in.
    init(jobPartitions: Int = 8, chunkPartitions: Int = BenchEnvironment.defaultChunkPartitions, standInArguments: [String]?) async throws {
        self.chunkPartitions = chunkPartitions
        var quiet = Logger(label: "llmq.bench")
        quiet.logLevel = .error
        let defaults = WorkerConfiguration.defaults
        let topics = [(defaults.jobsTopic, jobPartitions), (defaults.chunksTopic, chunkPartitions), (defaults.resultsTopic, 6),
                      (defaults.deadLetterTopic, 1), (defaults.controlTopic, 1)]
        let broker = try LLMQProcess(["dev-broker"] + topics.flatMap { ["--topic", "\($0.0):\($0.1)"] }, name: "bench-broker")
        self.broker = broker
        do {
            bootstrapServers = try await Self.bootstrapServers(of: broker)
            producer = try KafkaProducer(config: KafkaConfig(["bootstrap.servers": bootstrapServers, "linger.ms": "5", "log_level": "3"]), logger: quiet)
            if let standInArguments {
                let standIn = try LLMQProcess(["mock-llm", "--port", "0"] + standInArguments, name: "bench-mock-llm")
                self.standIn = standIn
                standInPort = try await Self.listeningPort(of: standIn)
            } else {
                standIn = nil
                standInPort = 0
            }
        } catch {
            broker.signal(SIGKILL)
            throw error
        }
    }

    /// The first line `llmq dev-broker` prints.
    private static func bootstrapServers(of process: LLMQProcess) async throws -> String {
        @Sendable func line() -> String? {
            process.log.split(separator: "\n").first { $0.contains(":") && !$0.contains(" ") }.map(String.init)
        }
        try await waitUntil("the broker to start", timeout: .seconds(30)) {
            guard process.isRunning else { throw HarnessError("the broker exited: \(process.log)") }
            return line() != nil
        }
        return line()!
    }

    /// The port the stand-in printed (`mock-llm listening on http://127.0.0.1:PORT`).
    private static func listeningPort(of process: LLMQProcess) async throws -> Int {
        let marker = "listening on http://127.0.0.1:"
        try await waitUntil("the stand-in to listen", timeout: .seconds(30)) {
            guard process.isRunning else { throw HarnessError("the stand-in exited: \(process.log)") }
            return process.log.contains(marker)
        }
        let log = process.log
        let rest = log[log.range(of: marker)!.upperBound...]
        guard let port = Int(rest.prefix { $0.isNumber }) else { throw HarnessError("no port in the stand-in's output: \(log)") }
        return port
    }

    /// Worker settings like the tests': short sessions, small backoffs, ephemeral metrics port, quiet logs.
    func workerSettings(concurrency: Int, logLevel: String = "warning", extra: [String] = []) -> [String] {
        [
            "kafka.bootstrap.servers=\(bootstrapServers)", "kafka.group.id=\(group)",
            "kafka.session.timeout.ms=6000", "kafka.heartbeat.interval.ms=500",
            "kafka.topic.metadata.refresh.interval.ms=1000", "kafka.log_level=3",
            "topic.jobs=\(Self.jobsTopic)", "topic.chunks=\(Self.chunksTopic)", "topic.results=\(Self.resultsTopic)",
            "topic.dead_letter=\(Self.deadLetterTopic)",
            "provider.kind=mock", "provider.base_url=http://127.0.0.1:\(standInPort)", "provider.model=mock-1",
            "worker.concurrency=\(concurrency)",
            "retry.max_attempts=3", "retry.initial_backoff_ms=10", "retry.max_backoff_ms=50",
            "metrics.port=0", "log.level=\(logLevel)",
        ] + extra
    }

    func startWorker(_ settings: [String], name: String) throws -> LLMQProcess {
        try LLMQProcess(workerSettings: settings, name: name)
    }

    /// The prompt of bench job `id`, with an optional stand-in directive.
    static func prompt(id: String, directive: String?) -> String {
        directive.map { "Tell job \(id) something [[mock \($0)]]" } ?? "Tell job \(id) something"
    }

    /// Enqueues jobs `bench-<i>` and waits until the broker has them all. `partition` pins job i to a
    /// partition (round robin), so every partition gets the same share.
    func enqueue(count: Int, partitions: Int? = nil, idPrefix: String = "bench", directive: (Int) -> String? = { _ in nil }) async throws {
        let deliveries = DeliveryCounter()
        deliveries.willProduce(count)
        for i in 0..<count {
            let id = "\(idPrefix)-\(i)"
            let value = JobEnqueuer.jobJSON(id: id, prompt: Self.prompt(id: id, directive: directive(i)))
            let message = OutgoingMessage(topic: Self.jobsTopic, partition: partitions.map { Int32(i % $0) },
                                          key: Array(id.utf8), value: value)
            try await producer.produce(message, handler: deliveries)
        }
        try await deliveries.waitForAll()
    }

    /// Stops a worker gracefully (SIGTERM), killing it when it does not exit in time.
    static func stop(_ process: LLMQProcess?) async {
        guard let process, process.isRunning else { return }
        process.signal(SIGTERM)
        if (try? await process.waitForExit(timeout: .seconds(30))) == nil {
            process.signal(SIGKILL)
            _ = try? await process.waitForExit(timeout: .seconds(10))
        }
    }

    func close() async {
        await producer.close(timeout: .seconds(5))
        await Self.stop(standIn)
        await Self.stop(broker)
    }
}
