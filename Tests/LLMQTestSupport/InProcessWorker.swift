import LLMQHarness
import AsyncHTTPClient
import NIOCore
import LLMQWorker
import Logging
import ServiceLifecycle

/// A worker running inside the test process under a ServiceGroup, stopped by a graceful shutdown.
public final class InProcessWorker: Sendable {
    public let worker: Worker
    private let group: ServiceGroup
    private let httpClient: HTTPClient
    private let task: Task<Void, any Error>

    public init(_ configuration: WorkerConfiguration, logLevel: Logger.Level = .warning) {
        var logger = Logger(label: "test.worker")
        logger.logLevel = logLevel
        httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let provider = ProviderFactory.make(configuration, httpClient: httpClient, logger: logger)
        worker = Worker(configuration: configuration, provider: provider, logger: logger)
        group = ServiceGroup(services: [worker], logger: logger)
        let group = self.group
        task = Task { try await group.run() }
    }

    /// Drains and stops the worker, as SIGTERM would.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        try await httpClient.shutdown()
    }
}

/// GETs a URL's body as text (for /metrics, /healthz).
public func httpGet(_ url: String) async throws -> String {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 16 << 20)
    return String(buffer: body)
}
