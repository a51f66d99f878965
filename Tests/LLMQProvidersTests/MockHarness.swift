import AsyncHTTPClient
import LLMQCore
import LLMQMockLLM
import Logging
import NIOCore
import Testing

@testable import LLMQProviders

/// A mock server on an ephemeral port plus a client, torn down after `body`.
struct MockHarness {
    let server: MockLLMServer
    let port: Int
    let client: HTTPClient
    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    func openAI(apiKey: String? = "sk-test-key-0123456789") -> OpenAIProvider {
        OpenAIProvider(httpClient: self.client, baseURL: self.baseURL, apiKey: apiKey, model: "mock-model")
    }

    func ernie(_ credentials: ErnieProvider.Credentials = .keys(apiKey: "ak-test-123456", secretKey: "sk-ernie-secret-987654")) -> ErnieProvider {
        ErnieProvider(httpClient: self.client, baseURL: self.baseURL, credentials: credentials)
    }

    static func with<T>(
        _ configuration: MockLLMConfiguration = MockLLMConfiguration(port: 0),
        _ body: (MockHarness) async throws -> T
    ) async throws -> T {
        var configuration = configuration
        configuration.port = 0
        var logger = Logger(label: "mock-llm")
        // Hummingbird logs cancelled connections at error level on every shutdown: noise here.
        logger.logLevel = .critical
        let server = MockLLMServer(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningPort()
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPClient.Configuration(timeout: .init(connect: .seconds(10)))
            )
            do {
                let result = try await body(MockHarness(server: server, port: port, client: client))
                try await client.shutdown()
                group.cancelAll()
                return result
            } catch {
                try? await client.shutdown()
                group.cancelAll()
                throw error
            }
        }
    }
}

func chat(_ prompt: String, stream: Bool = true) -> ProviderRequest {
    ProviderRequest(messages: [JobMessage(role: "system", content: "be brief"), JobMessage(role: "user", content: prompt)], stream: stream)
}

/// A sink that runs a closure for each piece where the provider offers it (on an event loop, for
/// a streamed call). Tests read what the closure captured only after `complete` returned, so the
/// closure never runs concurrently with them.
final class ClosureSink: DeltaSink, @unchecked Sendable {
    private let onDelta: (String) throws -> Void

    init(_ onDelta: @escaping (String) throws -> Void) {
        self.onDelta = onDelta
    }

    func offer(_ text: String) throws -> DeltaBackpressure? {
        try self.onDelta(text)
        return nil
    }
}

extension Provider {
    /// `complete` with a closure per piece (see `ClosureSink`).
    func complete(_ request: ProviderRequest, timeouts: Timeouts, onDelta: @escaping (String) throws -> Void) async throws -> ProviderCompletion {
        try await self.complete(request, timeouts: timeouts, into: ClosureSink(onDelta))
    }
}

/// Runs one call and returns its text alongside the completion.
func collect(_ provider: some Provider, _ request: ProviderRequest, timeouts: Timeouts = .default) async throws -> (String, ProviderCompletion, Int) {
    var text = ""
    var deltas = 0
    let completion = try await provider.complete(request, timeouts: timeouts) { piece in
        text += piece
        deltas += 1
    }
    return (text, completion, deltas)
}

/// The ProviderError a call throws (fails the test if it succeeds or throws something else).
func providerError(_ provider: some Provider, _ request: ProviderRequest, timeouts: Timeouts = .default) async -> ProviderError? {
    do {
        _ = try await collect(provider, request, timeouts: timeouts)
        Issue.record("expected the call to fail")
        return nil
    } catch let error as ProviderError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func waitUntil(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
