import ArgumentParser
import Foundation
import LLMQGateway
import LLMQWorker
import Logging
import ServiceLifecycle

/// `llmq gateway`: HTTP and SSE over the topics, until SIGTERM/SIGINT.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run an HTTP gateway: submit and cancel jobs, follow them as Server-Sent Events, an OpenAI-compatible /v1/chat/completions, and a live web page at /.",
        discussion: """
            Reads worker.conf like `llmq worker` (kafka.*, topic.*, worker.max_job_bytes) plus the gateway.* keys: \
            gateway.host, gateway.port (default 8080), gateway.tokens (bearer tokens; none means no auth), \
            gateway.cors_origins, gateway.max_body_bytes, gateway.max_clients, gateway.client_buffer_bytes, \
            gateway.window_jobs, gateway.window_bytes, gateway.window_ms, gateway.heartbeat_ms. Gateways are stateless replicas: run as many as you like.
            """
    )

    @Option(name: .shortAndLong, help: "The worker.conf file.")
    var config: String?

    @Option(name: .shortAndLong, help: "Override a setting, as key=value (repeatable), e.g. --set gateway.port=9090.")
    var set: [String] = []

    func run() async throws {
        let configuration = try CLIConfiguration.load { try WorkerConfiguration.load(file: config, overrides: set) }
        let logger = CLILogging.bootstrap(level: configuration.logLevel, label: "llmq.gateway")
        for line in configuration.redactedSummary where line.hasPrefix("gateway.") || line.hasPrefix("kafka.bootstrap") {
            logger.info("setting", metadata: ["value": "\(line)"])
        }
        let host = configuration.gateway.host
        let gateway = Gateway(configuration: configuration, logger: logger) { port in
            logger.notice("gateway listening", metadata: ["url": "http://\(host):\(port)/"])
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: gateway)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
