import AsyncHTTPClient
import LLMQProviders
import LLMQWorker
import Logging
import ServiceLifecycle

/// A worker running inside the test process under a ServiceGroup, stopped by a graceful shutdown.
public final class InProcessWorker: Sendable {
    public let worker: Worker
    private let group: ServiceGroup
    private let httpClients: HTTPClientShards
    private let task: Task<Void, any Error>

    public init(_ configuration: WorkerConfiguration, logLevel: Logger.Level = .warning) {
        var logger = Logger(label: "test.worker")
        logger.logLevel = logLevel
        // As the worker process builds them: `provider.connection_pools` clients.
        httpClients = HTTPClientShards(shards: configuration.effectiveConnectionPools, configuration: HTTPClient.Configuration())
        let provider = ProviderFactory.make(configuration, httpClients: httpClients, logger: logger)
        worker = Worker(configuration: configuration, provider: provider, logger: logger)
        group = ServiceGroup(services: [worker], logger: logger)
        let group = self.group
        task = Task { try await group.run() }
    }

    /// Drains and stops the worker, as SIGTERM would.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        try await httpClients.shutdown()
    }
}

