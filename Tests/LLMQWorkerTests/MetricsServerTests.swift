import Logging
import Prometheus
import Testing

@testable import LLMQWorker

@Suite("MetricsServer")
struct MetricsServerTests {
    private func server(port: Int, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> MetricsServer {
        var logger = Logger(label: "metrics-test")
        logger.logLevel = .critical
        return MetricsServer(host: "127.0.0.1", port: port, registry: PrometheusCollectorRegistry(), logger: logger,
                             isHealthy: { true }, isReady: { true }, onListening: onListening)
    }

    /// A second replica on a taken port used to exit with NIO's "bind(descriptor:ptr:bytes:): Address
    /// already in use", naming neither the setting nor the port.
    @Test func aTakenPortIsNamedWithItsSetting() async throws {
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.server(port: 0, onListening: { listening.yield($0) }).run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            do {
                try await self.server(port: port).run()
                Issue.record("a second server on port \(port) started")
            } catch let error as MetricsServer.StartError {
                #expect(error.port == port)
                #expect("\(error)".hasPrefix("metrics.port \(port) on 127.0.0.1: address already in use"), "\(error)")
            }
            group.cancelAll()
        }
    }
}
