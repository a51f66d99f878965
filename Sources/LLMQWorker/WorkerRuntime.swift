import AsyncHTTPClient
import Foundation
import LLMQKafka
import Logging
import LLMQProviders
import ServiceLifecycle

/// Assembles a worker process: HTTP clients, provider, worker and metrics server under one
/// ServiceGroup that turns SIGTERM/SIGINT into a graceful drain.
public enum WorkerRuntime {
    /// Runs until a signal (or a fatal error, which is rethrown for a non-zero exit).
    public static func run(_ configuration: WorkerConfiguration, logger: Logger,
                           onMetricsListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        for line in configuration.redactedSummary { logger.debug("config \(line)") }
        let registry = MetricsBootstrap.prometheus()
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout.connect = .milliseconds(configuration.timeouts.connect.wholeMilliseconds)
        // Many concurrent streams to one host: allow a connection per in-flight job.
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, configuration.concurrency)
        let httpClients = HTTPClientShards(shards: configuration.effectiveConnectionPools, configuration: httpConfiguration)
        let metrics = WorkerMetrics()
        let provider = ProviderFactory.make(configuration, httpClients: httpClients, logger: logger, metrics: metrics)
        let worker = Worker(configuration: configuration, provider: provider, metrics: metrics, logger: logger)
        // The group stops services in reverse order: the worker first (its drain can take
        // `worker.shutdown_grace_ms`), the metrics server, /healthz and /readyz only after it.
        var services: [any Service] = []
        if configuration.metricsPort >= 0 {
            services.append(MetricsServer(host: configuration.metricsHost, port: configuration.metricsPort, registry: registry,
                                          logger: logger, isHealthy: { worker.isHealthy }, isReady: { worker.isReady },
                                          onListening: onMetricsListening))
        }
        services.append(worker)
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                                             failureTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            try? await httpClients.shutdown()
            throw error
        }
        try? await httpClients.shutdown()
    }
}
