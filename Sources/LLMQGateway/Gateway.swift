import Foundation
import Hummingbird
import LLMQCore
import LLMQKafka
import LLMQWorker
import Logging
import NIOCore
import ServiceLifecycle

/// `llmq gateway`: HTTP and Server-Sent Events over llmq's topics. A stateless replica: it reads
/// the jobs, chunks, results and control topics without a consumer group (`WindowedTopicReader`), keeps
/// a bounded window of recent jobs (`JobWindow`) and fans events out to its own clients
/// (`GatewayHub`); it writes jobs and cancel requests with an idempotent producer.
public final class Gateway: Service {
    public let configuration: WorkerConfiguration
    public let hub: GatewayHub
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    public init(configuration: WorkerConfiguration, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        let settings = configuration.gateway
        hub = GatewayHub(
            topics: .init(jobs: configuration.jobsTopic, chunks: configuration.chunksTopic, results: configuration.resultsTopic,
                          control: configuration.controlTopic),
            maxClients: settings.maxClients, clientBufferBytes: settings.clientBufferBytes,
            windowJobs: settings.windowJobs, window: settings.window, windowBytes: settings.windowBytes)
    }

    /// Serves until graceful shutdown (SIGTERM/SIGINT under a ServiceGroup) or cancellation; open
    /// event streams are ended first, so shutdown never waits on them.
    public func run() async throws {
        let settings = configuration.gateway
        if !settings.requiresAuth {
            logger.warning("gateway.tokens is not set: the gateway accepts every request without authentication")
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let follower = try WindowedTopicReader(config: configuration.kafka, logger: quiet)
        let hub = self.hub
        try await KafkaProducer.withProducer(config: configuration.producerKafkaConfig, logger: quiet, closeTimeout: .seconds(5)) { producer in
            do {
                let since = Date().addingTimeInterval(-Double(settings.window.wholeMilliseconds) / 1000)
                try await follower.start(
                    topics: [configuration.jobsTopic, configuration.chunksTopic, configuration.resultsTopic, configuration.controlTopic],
                    since: since) { hub.apply($0) }
                try await serve(producer: producer)
            } catch {
                await follower.close()
                throw error
            }
            await follower.close()
        }
    }

    private func serve(producer: KafkaProducer) async throws {
        let settings = configuration.gateway
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: GatewayCORS(origins: Set(settings.corsOrigins)))
        router.add(middleware: BearerAuth(tokens: settings.tokens, exempt: ["/", "/healthz"]))
        GatewayRoutes(hub: hub, producer: producer,
                      topics: hub.topics, parser: JobParser(maxJobBytes: configuration.maxJobBytes),
                      maxBodyBytes: settings.maxBodyBytes, logger: logger).register(on: router)
        let onListening = self.onListening
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        let hub = self.hub
        let heartbeat = settings.heartbeat
        let heartbeats = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                hub.heartbeat()
            }
        }
        defer { heartbeats.cancel() }
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await app.run()
            } onCancel: {
                hub.disconnectAll()
            }
        } onGracefulShutdown: {
            hub.disconnectAll()
        }
        hub.disconnectAll()
    }
}
