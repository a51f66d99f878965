import Foundation
import LLMQCore
import LLMQKafka
import LLMQMockLLM
import LLMQTesting
import LLMQTools
import LLMQWorker
import Logging

/// One phase's world: a fresh embedded cluster with llmq's topics, the provider stand-in, collectors
/// on the output topics, and worker replicas as real processes that can be killed and restarted.
final class FaultEnvironment: @unchecked Sendable {
    // @unchecked: `replicas` is mutated only by the phase's driving task.
    let cluster: MockCluster
    let mock: MockLLMServer
    let mockPort: Int
    let group = uniqueName("faults")
    let results: TopicCollector
    let chunks: TopicCollector
    let deadLetters: TopicCollector
    let producer: KafkaProducer
    let secrets: FaultSecrets
    private let mockTask: Task<Void, any Error>
    private(set) var replicas: [LLMQProcess?] = []
    /// Logs of every replica process that has run, for the secrets scan.
    private(set) var retiredLogs: [String] = []
    var extraSettings: [String] = []

    static let jobsTopic = WorkerConfiguration.defaults.jobsTopic
    static let chunksTopic = WorkerConfiguration.defaults.chunksTopic
    static let resultsTopic = WorkerConfiguration.defaults.resultsTopic
    static let deadLetterTopic = WorkerConfiguration.defaults.deadLetterTopic

    init(brokers: Int = 1, jobPartitions: Int = 6, mock mockConfiguration: MockLLMConfiguration, secrets: FaultSecrets) async throws {
        var quiet = Logger(label: "llmq.faults")
        quiet.logLevel = .critical
        cluster = try MockCluster(brokers: brokers, logger: quiet)
        try WorkerConfiguration.defaults.createTopics(on: cluster, jobPartitions: jobPartitions, chunkPartitions: 6, resultPartitions: 3,
                                                      replicationFactor: min(brokers, 3))
        var configuration = mockConfiguration
        configuration.port = 0
        mock = MockLLMServer(configuration: configuration, logger: quiet)
        let mock = self.mock
        mockTask = Task { try await mock.run() }
        mockPort = try await mock.listeningPort()
        self.secrets = secrets
        producer = try KafkaProducer(config: KafkaConfig(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "5", "log_level": "2"]), logger: quiet)
        results = try TopicCollector(bootstrapServers: cluster.bootstrapServers, topic: Self.resultsTopic)
        chunks = try TopicCollector(bootstrapServers: cluster.bootstrapServers, topic: Self.chunksTopic)
        deadLetters = try TopicCollector(bootstrapServers: cluster.bootstrapServers, topic: Self.deadLetterTopic)
    }

    /// Worker settings: fast rebalances, short backoff, secrets from the environment (see `secrets`).
    func workerSettings(id: String, concurrency: Int) -> [String] {
        [
            "kafka.bootstrap.servers=\(cluster.bootstrapServers)", "kafka.group.id=\(group)",
            "kafka.session.timeout.ms=3000", "kafka.heartbeat.interval.ms=300", "kafka.max.poll.interval.ms=10000",
            "kafka.topic.metadata.refresh.interval.ms=1000", "kafka.log_level=4",
            "provider.kind=mock", "provider.base_url=http://127.0.0.1:\(mockPort)",
            "worker.id=\(id)", "worker.concurrency=\(concurrency)", "worker.shutdown_grace_ms=15000", "worker.revoke_grace_ms=5000",
            "retry.max_attempts=3", "retry.initial_backoff_ms=50", "retry.max_backoff_ms=300",
            "timeout.first_chunk_ms=1500", "timeout.idle_ms=1500", "timeout.total_ms=10000",
            "metrics.port=0", "log.level=info",
        ] + extraSettings + (ProcessInfo.processInfo.environment["LLMQ_FAULT_DEBUG"] != nil ? ["kafka.debug=cgrp", "kafka.log_level=7", "log.level=debug"] : [])
    }

    /// Starts (or restarts) replica `index`.
    func startReplica(_ index: Int, concurrency: Int = 8) throws {
        while replicas.count <= index { replicas.append(nil) }
        if let old = replicas[index] { retiredLogs.append(old.log) }
        replicas[index] = try LLMQProcess(workerSettings: workerSettings(id: "r\(index)", concurrency: concurrency),
                                          name: "replica-\(index)", environment: secrets.environment)
    }

    /// Enqueues a prompt job; the prompt includes the id so the stand-in's fault counters are per job.
    func enqueue(id: String, directive: String = "", partition: Int32? = nil) async throws {
        let prompt = Self.prompt(id: id, directive: directive)
        try await producer.produce(OutgoingMessage(topic: Self.jobsTopic, partition: partition, key: Array(id.utf8),
                                                   value: JobEnqueuer.jobJSON(id: id, prompt: prompt)), handler: nil)
    }

    func enqueueRaw(_ bytes: [UInt8], partition: Int32) async throws {
        try await producer.produce(OutgoingMessage(topic: Self.jobsTopic, partition: partition, value: bytes), handler: nil)
    }

    func flush() async throws { try await producer.flush(timeout: .seconds(60)) }

    static func prompt(id: String, directive: String) -> String {
        directive.isEmpty ? "Fault suite job \(id)" : "Fault suite job \(id) [[mock \(directive)]]"
    }

    /// Waits until every id has a result, or `timeout` passes (then the missing ones are reported as lost).
    func waitForResults(_ ids: Set<String>, timeout: Duration) async {
        try? await results.waitFor("results", timeout: timeout) { messages in
            var seen = Set<String>()
            for message in messages { if let id = message.keyString { seen.insert(id) } }
            return ids.isSubset(of: seen)
        }
    }

    /// Waits (up to `timeout`) until the chunk collector holds every event of the streams that
    /// succeeded results name: after broker faults the collector may trail the results.
    func waitForStreamsOfResults(timeout: Duration = .seconds(60)) async {
        try? await waitUntil("chunk streams of results", timeout: timeout) {
            let wanted = self.results.messages.compactMap { JobResult.decode($0.value) }.filter { $0.status == .succeeded }.compactMap(\.streamID)
            var seen: [String: Int] = [:]
            var lastSeq: [String: Int] = [:]
            for event in self.chunks.messages.compactMap({ ChunkEvent.decode($0.value) }) {
                seen[event.streamID, default: 0] += 1
                if case .end = event.kind { lastSeq[event.streamID] = event.seq }
            }
            return wanted.allSatisfy { id in lastSeq[id].map { (seen[id] ?? 0) > $0 } ?? false }
        }
    }

    /// The metrics text of a running replica (its URL is in its log), for the secrets scan.
    func scrapeMetrics(of replica: LLMQProcess) async -> String {
        guard let base = replica.metricsBaseURL else { return "" }
        return (try? await httpGetText(base + "/metrics")) ?? ""
    }

    /// Stops every replica gracefully and collects all text the phase produced.
    func finish() async -> [String] {
        var texts: [String] = []
        for replica in replicas.compactMap({ $0 }) where replica.isRunning {
            texts.append(await scrapeMetrics(of: replica))
            replica.signal(SIGTERM)
            _ = try? await replica.waitForExit(timeout: .seconds(30))
        }
        texts += retiredLogs + replicas.compactMap { $0?.log }
        texts += results.messages.map(\.valueString) + chunks.messages.map(\.valueString)
        texts += deadLetters.messages.map { $0.valueString + $0.headers.compactMap(\.stringValue).joined(separator: " ") }
        await results.close()
        await chunks.close()
        await deadLetters.close()
        await producer.close(timeout: .seconds(5))
        mockTask.cancel()
        return texts
    }
}

/// Secrets given to every worker of the suite; none may ever appear in what the run produced.
struct FaultSecrets: Sendable {
    let apiKey = "sk-faults-SECRET-\(UInt64.random(in: 0...UInt64.max))"
    let secretKey = "ernie-sk-SECRET-\(UInt64.random(in: 0...UInt64.max))"
    let saslPassword = "sasl-faults-SECRET-\(UInt64.random(in: 0...UInt64.max))"
    var environment: [String: String] {
        ["LLMQ_PROVIDER_API_KEY": apiKey, "LLMQ_PROVIDER_SECRET_KEY": secretKey, "LLMQ_KAFKA_SASL_PASSWORD": saslPassword]
    }

    /// How many of `texts` contain a secret.
    func leaks(in texts: [String]) -> Int {
        texts.filter { $0.contains(apiKey) || $0.contains(secretKey) || $0.contains(saslPassword) }.count
    }
}
