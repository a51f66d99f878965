import LLMQGateway
import LLMQHarness
import LLMQTesting
import LLMQWorker
import Logging
import ServiceLifecycle

/// A gateway running inside the test process under a ServiceGroup, on a free port.
public final class InProcessGateway: Sendable {
    public let gateway: Gateway
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Starts a gateway for `configuration` (its `gateway.port` is replaced by a free one) and
    /// returns once it listens.
    public init(_ configuration: WorkerConfiguration, logLevel: Logger.Level = .error) async throws {
        var configuration = configuration
        configuration.gateway.port = 0
        configuration.gateway.host = "127.0.0.1"
        var logger = Logger(label: "test.gateway")
        logger.logLevel = logLevel
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        gateway = Gateway(configuration: configuration, logger: logger) { port in continuation.yield(port) }
        group = ServiceGroup(services: [gateway], logger: logger)
        let group = self.group
        task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await task.value
            throw TimedOut(what: "the gateway to listen (it stopped first)")
        }
        self.port = port
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Ends open streams and stops the gateway, as SIGTERM would.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}
