import AsyncHTTPClient
import Foundation
import LLMQCore
import LLMQHarness
import LLMQKafka
import LLMQMockLLM
import LLMQTestSupport
import LLMQWorker
import Testing

/// A mock cluster with llmq's topics, the stand-in, a worker and a gateway, all in-process over
/// real sockets, plus a collector on the control topic.
final class GatewayFixture: Sendable {
    let bed: WorkerTestbed
    let worker: InProcessWorker?
    let gateway: InProcessGateway
    let control: TopicCollector
    let http: HTTPClient
    let client: GatewayClient

    init(worker startWorker: Bool = true, gatewaySettings: [String] = [], token: String? = nil,
         mock: MockLLMConfiguration = MockLLMConfiguration(port: 0, words: 12)) async throws {
        bed = try await WorkerTestbed(mockConfiguration: mock)
        worker = startWorker ? InProcessWorker(try bed.configuration(concurrency: 8)) : nil
        gateway = try await InProcessGateway(try bed.configuration(extra: gatewaySettings))
        control = try TopicCollector(bootstrapServers: bed.cluster.bootstrapServers, topic: WorkerConfiguration.defaults.controlTopic)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        client = GatewayClient(baseURL: gateway.baseURL, http: http, token: token)
    }

    /// A prompt the stand-in answers with `words` words, `gapMs` apart.
    static func prompt(_ text: String, words: Int = 12, gapMs: Int = 0) -> String {
        "\(text) [[mock words=\(words)\(gapMs > 0 ? " gap_ms=\(gapMs)" : "")]]"
    }

    static func expected(_ prompt: String, words: Int = 12) -> String {
        MockReply.pieces(for: prompt, words: words).joined()
    }

    /// Waits for a cancel request for `jobID` on the control topic.
    func waitForCancel(_ jobID: String) async throws -> ControlMessage {
        let messages = try await control.waitFor("a cancel message for \(jobID)") { messages in
            messages.contains { ControlMessage.decode($0.value)?.jobID == jobID }
        }
        let message = try #require(messages.first { ControlMessage.decode($0.value)?.jobID == jobID })
        #expect(message.keyString == jobID, "control messages are keyed by job id")
        return try #require(ControlMessage.decode(message.value))
    }

    deinit {
        // A test that stops early (a failed `#require`) never reaches `close()`. Then the HTTP
        // client's debug-build check in its deinit would crash the whole test process and hide
        // every later result; shutting it down here (a no-op after `close()`) keeps the failure
        // one test's. The other parts only leak until the process ends.
        _ = http.shutdown()
    }

    func close() async throws {
        try await gateway.stop()
        try await worker?.stop()
        await control.close()
        try await http.shutdown()
        await bed.close()
    }
}

/// JSON string escaping for request bodies built in tests.
func jsonString(_ text: String) -> String {
    String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
}
