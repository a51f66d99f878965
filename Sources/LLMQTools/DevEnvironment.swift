import Foundation
import LLMQCore
import LLMQGateway
import LLMQKafka
import LLMQMockLLM
import LLMQWorker
import Logging
import ServiceLifecycle

/// `llmq dev`: an embedded broker, the provider stand-in and a worker in one process, demo prompts
/// streamed live, then serving on so other terminals can `llmq enqueue` and `llmq tail`.
public enum DevEnvironment {
    /// Where `llmq dev` leaves its bootstrap servers for `llmq enqueue`/`tail` run without a config.
    public static var stateFile: String {
        let dir = ProcessInfo.processInfo.environment["LLMQ_DEV_STATE_DIR"] ?? NSTemporaryDirectory()
        return (dir as NSString).appendingPathComponent("llmq-dev.bootstrap")
    }

    /// The bootstrap servers of a running `llmq dev`, if any.
    public static func runningBootstrap() -> String? {
        guard let text = try? String(contentsOfFile: stateFile, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The consumer group of `llmq dev`'s worker.
    public static let group = "llmq-dev"

    public static let demoPrompts = [
        "Explain in one paragraph why Kafka consumer groups make horizontal scaling easy.",
        "Write a haiku about backpressure.",
        "List three things that can go wrong when streaming tokens from an LLM.",
        "What does at-least-once delivery mean for a job queue?",
    ]

    public struct Options: Sendable {
        public var configFile: String?
        public var overrides: [String]
        public var mockPort: Int
        public var demo: Bool
        public var brokers: Int
        /// The gateway's port on 127.0.0.1 (0: any free port; -1: no gateway). Default 8080.
        public var gatewayPort: Int
        public init(configFile: String?, overrides: [String], mockPort: Int, demo: Bool, brokers: Int, gatewayPort: Int = 8080) {
            self.configFile = configFile
            self.overrides = overrides
            self.mockPort = mockPort
            self.demo = demo
            self.brokers = brokers
            self.gatewayPort = gatewayPort
        }
    }

    public static func run(_ options: Options, logger: Logger) async throws {
        let cluster = try MockCluster(brokers: options.brokers)
        let bootstrap = cluster.bootstrapServers
        // The dev settings: the repo's worker.conf (if given) pointed at the embedded broker and stand-in.
        var overrides = ["kafka.bootstrap.servers=\(bootstrap)", "provider.kind=mock"]
        overrides += options.overrides
        var configuration = try WorkerConfiguration.load(file: options.configFile, environment: [:],
                                                         overrides: ["kafka.group.id=\(Self.group)"] + overrides)
        try configuration.createTopics(on: cluster, jobPartitions: 6, chunkPartitions: 6, resultPartitions: 3)
        let mock = MockLLMServer(configuration: MockLLMConfiguration(host: "127.0.0.1", port: options.mockPort, words: 40,
                                                                     firstChunkDelay: .milliseconds(300), gap: .milliseconds(60)),
                                 logger: Self.quiet(logger))
        let mockTask = Task { try await mock.run() }
        let mockPort = try await mock.listeningPort()
        configuration.providerBaseURL = "http://127.0.0.1:\(mockPort)"
        // Rebalances settle in seconds on the mock cluster with short sessions.
        configuration.kafka.setDefault("session.timeout.ms", "6000")
        configuration.kafka.setDefault("heartbeat.interval.ms", "500")
        try? bootstrap.write(toFile: stateFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: stateFile) }

        let renderer = TailRenderer()
        let (pageURL, gatewayTask) = await startGateway(configuration, port: options.gatewayPort, logger: logger)
        renderer.note("""
            llmq dev: embedded Kafka at \(bootstrap), provider stand-in at http://127.0.0.1:\(mockPort), worker \(configuration.concurrency) jobs at a time
            \(pageURL.map { "web page and API: \($0)   (POST /v1/jobs, GET /v1/jobs/{id}/events, POST /v1/chat/completions)\n" } ?? "")\
            metrics: http://127.0.0.1:\(configuration.metricsPort)/metrics   stop: Ctrl-C
            in another terminal:  llmq enqueue "your prompt"   ·   llmq tail
            """)
        var tailKafka = KafkaConfig(["bootstrap.servers": bootstrap, "log_level": "3"])
        tailKafka["topic.metadata.refresh.interval.ms"] = "2000"
        let tailer = ChunkTailer(kafka: tailKafka, topic: configuration.chunksTopic, fromBeginning: true)
        let quiet = Self.quiet(logger)
        let tailTask = Task { try await tailer.run(logger: quiet) { event, view in renderer.show(event, view); return true } }
        if options.demo {
            let producer = try KafkaProducer(config: KafkaConfig(["bootstrap.servers": bootstrap, "log_level": "3"]), logger: quiet)
            let enqueuer = JobEnqueuer(producer: producer, topic: configuration.jobsTopic)
            for (index, prompt) in demoPrompts.enumerated() {
                _ = try await enqueuer.enqueue(prompt: prompt, id: "demo-\(index + 1)")
            }
            await producer.close()
        }
        var failure: (any Error)?
        do { try await WorkerRuntime.run(configuration, logger: logger) } catch { failure = error }
        // Stop the gateway, the live view and the stand-in before the embedded broker goes away with this scope.
        gatewayTask?.cancel()
        _ = await gatewayTask?.value
        tailTask.cancel()
        _ = await tailTask.result
        mockTask.cancel()
        _ = await mockTask.result
        withExtendedLifetime(cluster) {}
        if let failure { throw failure }
    }

    /// Starts a gateway on 127.0.0.1:`port` in this process; returns its page's address, or nil when
    /// disabled (-1) or when it could not start (the port is taken: said on stderr, dev goes on).
    private static func startGateway(_ configuration: WorkerConfiguration, port: Int, logger: Logger) async -> (url: String?, task: Task<Void, Never>?) {
        guard port >= 0 else { return (nil, nil) }
        var configuration = configuration
        configuration.gateway.host = "127.0.0.1"
        configuration.gateway.port = port
        // The embedded cluster answers an empty fetch only after fetch.wait.max.ms: keep it short.
        configuration.kafka.setDefault("fetch.wait.max.ms", "2")
        var gatewayLogger = logger
        gatewayLogger.logLevel = .critical
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let gateway = Gateway(configuration: configuration, logger: gatewayLogger) { continuation.yield($0) }
        let task = Task {
            defer { continuation.finish() }
            do { try await gateway.run() } catch {
                FileHandle.standardError.write(Data("llmq dev: the gateway did not start on port \(port): \(error) (use --gateway-port)\n".utf8))
            }
        }
        var iterator = ports.makeAsyncIterator()
        return (await iterator.next().map { "http://127.0.0.1:\($0)/" }, task)
    }

    /// The stand-in and the live view only speak up for real trouble (their shutdown is routine).
    private static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .critical
        return quiet
    }

    /// Keeps `value` (for example a MockCluster) alive until SIGINT or SIGTERM.
    public static func keepRunningUntilSignalled(holding value: AnyObject & Sendable) async throws {
        let group = ServiceGroup(configuration: .init(services: [.init(service: Holder(value: value))],
                                                      gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: Logger(label: "llmq.dev-broker")))
        try await group.run()
    }

    private struct Holder: Service {
        let value: AnyObject & Sendable
        func run() async throws {
            try? await gracefulShutdown()
            withExtendedLifetime(value) {}
        }
    }
}
