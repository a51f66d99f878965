import LLMQHarness
import Foundation
import LLMQCore
import LLMQKafka
import LLMQMockLLM
import LLMQTesting
import LLMQTools
import LLMQWorker
import Logging
import Synchronization

/// A mock cluster with llmq's topics, the provider stand-in, and collectors on the output topics:
/// everything a worker test needs, over real sockets.
public final class WorkerTestbed: Sendable {
    public let cluster: MockCluster
    public let mock: MockLLMServer
    public let mockPort: Int
    public let group: String
    public let results: TopicCollector
    public let chunks: TopicCollector
    public let deadLetters: TopicCollector
    private let producer: KafkaProducer
    private let mockTask: Task<Void, any Error>
    public let jobPartitions: Int

    public static let jobsTopic = WorkerConfiguration.defaults.jobsTopic
    public static let chunksTopic = WorkerConfiguration.defaults.chunksTopic
    public static let resultsTopic = WorkerConfiguration.defaults.resultsTopic
    public static let deadLetterTopic = WorkerConfiguration.defaults.deadLetterTopic

    public init(jobPartitions: Int = 4, brokers: Int = 1, mockConfiguration: MockLLMConfiguration = MockLLMConfiguration(port: 0, words: 12)) async throws {
        var quiet = Logger(label: "test.testbed")
        quiet.logLevel = .error
        cluster = try MockCluster(brokers: brokers, logger: quiet)
        self.jobPartitions = jobPartitions
        try WorkerConfiguration.defaults.createTopics(on: cluster, jobPartitions: jobPartitions, chunkPartitions: 4, resultPartitions: 2)
        var mockConfiguration = mockConfiguration
        mockConfiguration.port = 0
        mock = MockLLMServer(configuration: mockConfiguration, logger: quiet)
        let mock = self.mock
        mockTask = Task { try await mock.run() }
        mockPort = try await mock.listeningPort()
        group = uniqueName("workers")
        producer = try KafkaProducer(config: producerConfig(cluster), logger: quiet)
        results = try TopicCollector(bootstrapServers: cluster.bootstrapServers, topic: Self.resultsTopic)
        chunks = try TopicCollector(bootstrapServers: cluster.bootstrapServers, topic: Self.chunksTopic)
        deadLetters = try TopicCollector(bootstrapServers: cluster.bootstrapServers, topic: Self.deadLetterTopic)
    }

    /// Worker settings (`key=value`) for this testbed: fast rebalances, no real backoff, ephemeral metrics port.
    public func settings(concurrency: Int = 8, extra: [String] = []) -> [String] {
        [
            "kafka.bootstrap.servers=\(cluster.bootstrapServers)", "kafka.group.id=\(group)",
            "kafka.session.timeout.ms=3000", "kafka.heartbeat.interval.ms=300", "kafka.max.poll.interval.ms=6000",
            "kafka.topic.metadata.refresh.interval.ms=1000", "kafka.log_level=3",
            "provider.kind=mock", "provider.base_url=http://127.0.0.1:\(mockPort)", "provider.model=mock-1",
            "worker.concurrency=\(concurrency)", "worker.shutdown_grace_ms=20000", "worker.revoke_grace_ms=5000",
            "retry.max_attempts=3", "retry.initial_backoff_ms=10", "retry.max_backoff_ms=50",
            "timeout.first_chunk_ms=3000", "timeout.idle_ms=3000", "timeout.total_ms=20000",
            "metrics.port=0", "log.level=info",
        ] + extra
    }

    public func configuration(concurrency: Int = 8, extra: [String] = []) throws -> WorkerConfiguration {
        try WorkerConfiguration.load(file: nil, environment: [:], overrides: settings(concurrency: concurrency, extra: extra))
    }

    /// Asks the workers to cancel a job (a message on the control topic).
    public func cancel(id: String) async throws {
        try await producer.send(OutgoingMessage(topic: WorkerConfiguration.defaults.controlTopic, key: Array(id.utf8),
                                                value: ControlMessage(cancel: id).encoded()))
    }

    /// Enqueues one raw job payload.
    public func enqueueRaw(_ bytes: [UInt8], key: String? = nil, headers: [KafkaHeader] = [], topic: String = WorkerTestbed.jobsTopic) async throws {
        try await producer.send(OutgoingMessage(topic: topic, key: key.map { Array($0.utf8) }, value: bytes, headers: headers))
    }

    /// Enqueues a prompt job; the prompt includes the id so the stand-in's per-prompt fault counters are per job.
    @discardableResult
    public func enqueue(id: String, directive: String = "", stream: Bool = true, extraJSON: String = "",
                        topic: String = WorkerTestbed.jobsTopic) async throws -> String {
        let prompt = Self.prompt(id: id, directive: directive)
        var json = String(decoding: JobEnqueuer.jobJSON(id: id, prompt: prompt, stream: stream), as: UTF8.self)
        if !extraJSON.isEmpty { json = String(json.dropLast()) + "," + extraJSON + "}" }
        try await enqueueRaw(Array(json.utf8), key: id, topic: topic)
        return prompt
    }

    public static func prompt(id: String, directive: String) -> String {
        directive.isEmpty ? "Tell job \(id) something" : "Tell job \(id) something [[mock \(directive)]]"
    }

    /// The stand-in's deterministic reply for a job enqueued with `enqueue(id:directive:)`.
    public func expectedText(id: String, directive: String = "", words: Int = 12) -> String {
        MockReply.pieces(for: Self.prompt(id: id, directive: directive), words: words).joined()
    }

    /// Decoded results so far.
    public var decodedResults: [JobResult] { results.messages.compactMap { JobResult.decode($0.value) } }

    /// Waits until every id has at least one result.
    @discardableResult
    public func waitForResults(_ ids: some Collection<String>, timeout: Duration = .seconds(90)) async throws -> [String: [JobResult]] {
        let wanted = Set(ids)
        try await results.waitFor("results for \(wanted.count) jobs", timeout: timeout) { messages in
            let have = Set(messages.compactMap { JobResult.decode($0.value)?.jobID })
            return wanted.isSubset(of: have)
        }
        // The chunk collector reads another topic: wait until it holds every event of the streams
        // those results name (their `end` counts them), so tests can read the streams at once.
        let named = decodedResults.filter { $0.jobID.map(wanted.contains) ?? false }
            .compactMap { result in result.streamID.flatMap { id in result.streamEvents.map { (id, $0) } } }
        try await chunks.waitFor("the chunk events of \(named.count) streams", timeout: timeout) { _ in
            let streams = self.streams
            return named.allSatisfy { (streams[$0.0]?.count ?? 0) >= $0.1 }
        }
        return Dictionary(grouping: decodedResults.filter { $0.jobID.map(wanted.contains) ?? false }, by: { $0.jobID! })
    }

    /// Every chunk event so far, grouped by stream id, in the order they were read.
    public var streams: [String: [ChunkEvent]] {
        Dictionary(grouping: chunks.messages.compactMap { ChunkEvent.decode($0.value) }, by: \.streamID)
    }

    /// Checks a stream's events: seq from 0 without gaps, `start` first, one terminal event last,
    /// all keyed to one job. Returns the concatenated deltas, or a description of what is wrong.
    public func streamText(_ streamID: String) -> Result<String, StreamProblem> {
        guard let events = streams[streamID], !events.isEmpty else { return .failure(.init("no events for \(streamID)")) }
        let sorted = events.sorted { $0.seq < $1.seq }
        guard events.map(\.seq) == sorted.map(\.seq) else { return .failure(.init("events of \(streamID) out of order")) }
        guard sorted.map(\.seq) == Array(0..<sorted.count) else { return .failure(.init("seq of \(streamID) not 0..<\(sorted.count): \(sorted.map(\.seq))")) }
        guard case .start = sorted.first!.kind else { return .failure(.init("\(streamID) does not begin with start")) }
        switch sorted.last!.kind {
        case .end, .abort: break
        default: return .failure(.init("\(streamID) has no terminal event"))
        }
        var text = ""
        for event in sorted { if case .delta(let piece) = event.kind { text += piece } }
        return .success(text)
    }

    public struct StreamProblem: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public func close() async {
        await results.close()
        await chunks.close()
        await deadLetters.close()
        await producer.close(timeout: .seconds(5))
        mockTask.cancel()
    }
}
