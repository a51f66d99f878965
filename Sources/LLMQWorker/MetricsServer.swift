#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// Serves Prometheus text at `/metrics`, and `/healthz` and `/readyz` for orchestrators.
public struct MetricsServer: Service {
    let host: String
    let port: Int
    let registry: PrometheusCollectorRegistry
    let isHealthy: @Sendable () -> Bool
    let isReady: @Sendable () -> Bool
    let onListening: @Sendable (Int) async -> Void
    let logger: Logger

    public init(host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger,
                isHealthy: @escaping @Sendable () -> Bool, isReady: @escaping @Sendable () -> Bool,
                onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.registry = registry
        self.isHealthy = isHealthy
        self.isReady = isReady
        self.onListening = onListening
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            var buffer = ByteBuffer()
            buffer.writeBytes(registry.emitToBuffer())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: buffer))
        }
        router.get("/healthz") { _, _ -> Response in
            Response(status: isHealthy() ? .ok : .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: isHealthy() ? "ok\n" : "unhealthy\n")))
        }
        router.get("/readyz") { _, _ -> Response in
            Response(status: isReady() ? .ok : .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: isReady() ? "ready\n" : "not ready\n")))
        }
        let onListening = self.onListening
        let listening = Atomic(false)
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "llmq"),
            onServerRunning: { channel in
                listening.store(true, ordering: .relaxed)
                await onListening(channel.localAddress?.port ?? 0)
            },
            logger: quiet)
        do {
            // run(), not runService(): the worker's ServiceGroup owns the signals and stops this
            // server only after the worker has drained (runService would stop it at SIGTERM itself).
            try await app.run()
        } catch let error as IOError where !listening.load(ordering: .relaxed) {
            // NIO's own text ("bind(descriptor:ptr:bytes:): Address already in use") names neither the setting nor the port.
            throw StartError(host: host, port: port, errno: error.errnoCode)
        }
    }

    /// The server could not listen on `metrics.host`:`metrics.port`.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var errno: Int32
        public var description: String {
            let reason = switch errno {
            case EADDRINUSE: "address already in use (another process listens there: pick another metrics.port, or 0 for any free one)"
            case EACCES: "permission denied (ports below 1024 need privileges)"
            case EADDRNOTAVAIL: "address not available (metrics.host is not an address of this machine)"
            default: "cannot listen (errno \(errno))"
            }
            return "metrics.port \(port) on \(host): \(reason)"
        }
    }
}

/// Installs the Prometheus backend for swift-metrics once per process.
public enum MetricsBootstrap {
    private static let registry = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The process's registry; bootstraps swift-metrics on first use.
    public static func prometheus() -> PrometheusCollectorRegistry {
        registry.withLock { current in
            if let current { return current }
            let created = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: created))
            current = created
            return created
        }
    }
}
