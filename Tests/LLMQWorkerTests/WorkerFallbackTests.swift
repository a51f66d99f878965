import LLMQCore
import LLMQMockLLM
import LLMQTestSupport
import LLMQTools
import LLMQWorker
import Logging
import Prometheus
import Testing

/// Issue 12, items 4 and 5: the stream fallback and the fallback provider, with the worker in this
/// process against the mock cluster and provider stand-ins over real sockets.
@Suite("Worker: stream fallback and fallback provider", .serialized)
struct WorkerFallbackTests {
    @Test("a stand-in that cuts every stream: after provider.stream_fallback.interruptions the job runs non-streamed, and so do later ones; the results say so")
    func streamFallback() async throws {
        // Every streamed reply ends after 2 deltas without its terminal event; whole replies are fine.
        let registry = MetricsBootstrap.prometheus()
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12, faults: MockFaults(cutAfter: 2)))
        let worker = InProcessWorker(try bed.configuration(extra: [
            "provider.stream_fallback.interruptions=2", "provider.stream_fallback.window_ms=600000",
            "provider.stream_fallback.quiet_ms=600000", "retry.max_attempts=3",
        ]))
        let first = try await bed.run("cut-first")
        #expect(first.status == .succeeded)
        #expect(first.attempts == 3, "two broken streams, then one call without a stream")
        #expect(first.streamFallback == true)
        #expect(first.text == bed.expectedText(id: "cut-first"))
        let streamID = try #require(first.streamID)
        let events = try #require(bed.streams[streamID]).sorted { $0.seq < $1.seq }
        #expect(events.map(\.typeName) == ["start", "delta", "end"], "the whole text as one delta")
        #expect(try bed.streamText(streamID).get() == first.text)

        // Calls keep going without a stream: later jobs succeed at once; one that asked for no stream is no fallback.
        try await bed.enqueue(id: "cut-later-1")
        try await bed.enqueue(id: "cut-later-2")
        try await bed.enqueue(id: "asked-whole", stream: false)
        let later = try await bed.waitForResults(["cut-later-1", "cut-later-2", "asked-whole"])
        try await worker.stop()
        for id in ["cut-later-1", "cut-later-2"] {
            let result = try #require(later[id]?.first)
            #expect(result.status == .succeeded, "\(id)")
            #expect(result.attempts == 1, "\(id)")
            #expect(result.streamFallback == true, "\(id)")
            #expect(result.text == bed.expectedText(id: id))
        }
        let whole = try #require(later["asked-whole"]?.first)
        #expect(whole.status == .succeeded)
        #expect(whole.streamFallback == nil)
        #expect(bed.mock.stats.requests == 6)
        // The flag reaches the published JSON, and only when it happened.
        let published = bed.results.messages.map { String(decoding: $0.value, as: UTF8.self) }
        #expect(published.filter { $0.contains(#""stream_fallback":true"#) }.count == 3)
        let samples = registry.samples
        #expect((samples.values("llmq_stream_fallback_switches_total", ["provider": "mock"]).first?.value ?? 0) >= 1)
        #expect(samples.values("llmq_stream_fallback_active", ["provider": "mock"]).first?.value == 1)
        await bed.close()
    }

    @Test("without provider.stream_fallback.* (off by default), broken streams are retried as streams and the job fails")
    func streamFallbackIsOffByDefault() async throws {
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12, faults: MockFaults(cutAfter: 2)))
        let worker = InProcessWorker(try bed.configuration(extra: ["retry.max_attempts=3"]))
        let result = try await bed.run("cut-always")
        try await worker.stop()
        #expect(result.status == .failed)
        #expect(result.attempts == 3)
        #expect(result.error?.kind == "stream_interrupted")
        #expect(result.streamFallback == nil)
        await bed.close()
    }

    @Test("a primary answering 503: the retry goes to provider.fallback.*, and the result names the fallback and its model")
    func fallbackServesRetries() async throws {
        let registry = MetricsBootstrap.prometheus()
        let bed = try await WorkerTestbed.failingPrimary()
        let fallback = try await StandIn()
        let worker = InProcessWorker(try bed.configuration(extra: fallback.settings + [
            "provider.fallback.after_attempts=1", "provider.fallback.circuit_failures=0", "retry.max_attempts=3",
        ]))
        let result = try await bed.run("served-elsewhere")
        try await worker.stop()
        #expect(result.status == .succeeded)
        #expect(result.attempts == 2)
        #expect(result.provider == "fallback:mock")
        #expect(result.model == "fallback-model")
        #expect(result.text == bed.expectedText(id: "served-elsewhere"))
        #expect(try bed.streamText(result.streamID!).get() == result.text)
        #expect(bed.mock.stats.requests == 1)
        #expect(fallback.server.stats.requests == 1)
        #expect((registry.samples.values("llmq_provider_fallbacks_total", ["reason": "retry"]).first?.value ?? 0) >= 1)
        await fallback.stop()
        await bed.close()
    }

    @Test("a fallback of another kind: an OpenAI-format primary answering 503, an ERNIE fallback with its access token")
    func fallbackOfAnotherKind() async throws {
        let bed = try await WorkerTestbed.failingPrimary()
        let fallback = try await StandIn()
        let token = "mock-static-token"
        let worker = InProcessWorker(try bed.configuration(extra: [
            "provider.fallback.kind=ernie", "provider.fallback.base_url=http://127.0.0.1:\(fallback.port)",
            "provider.fallback.model=ernie-speed", "provider.fallback.access_token=\(token)",
            "provider.fallback.circuit_failures=0", "retry.max_attempts=2",
        ]))
        let result = try await bed.run("to-ernie")
        try await worker.stop()
        #expect(result.status == .succeeded)
        #expect(result.attempts == 2)
        #expect(result.provider == "fallback:ernie")
        #expect(result.model == "ernie-speed")
        #expect(result.text == bed.expectedText(id: "to-ernie"))
        #expect(fallback.server.stats.requests == 1)
        let published = bed.results.messages.map { String(decoding: $0.value, as: UTF8.self) }
        #expect(!published.contains { $0.contains(token) }, "the fallback's token is in no result")
        await fallback.stop()
        await bed.close()
    }

    @Test("a primary that keeps failing opens its circuit: then first attempts go to the fallback too")
    func openCircuitRoutesFirstAttempts() async throws {
        let registry = MetricsBootstrap.prometheus()
        let bed = try await WorkerTestbed.failingPrimary()
        let fallback = try await StandIn()
        let worker = InProcessWorker(try bed.configuration(extra: fallback.settings + [
            // Only the circuit routes here: retries alone would not reach the fallback.
            "provider.fallback.after_attempts=10", "provider.fallback.circuit_failures=2",
            "provider.fallback.circuit_cooldown_ms=600000", "retry.max_attempts=3",
        ]))
        let first = try await bed.run("opens")
        #expect(first.status == .succeeded)
        #expect(first.attempts == 3, "two failures open the circuit, the third attempt goes to the fallback")
        #expect(first.provider == "fallback:mock")

        let second = try await bed.run("while-open")
        try await worker.stop()
        #expect(second.status == .succeeded)
        #expect(second.attempts == 1)
        #expect(second.provider == "fallback:mock")
        #expect(second.model == "fallback-model")
        #expect(bed.mock.stats.requests == 2, "no call to the primary while its circuit is open")
        #expect(fallback.server.stats.requests == 2)
        let samples = registry.samples
        #expect((samples.values("llmq_provider_fallbacks_total", ["reason": "circuit_open"]).first?.value ?? 0) >= 2)
        #expect(samples.value("llmq_provider_circuit_open") == 1)
        await fallback.stop()
        await bed.close()
    }

    @Test("a primary that succeeds is named as before; the fallback is not called")
    func healthyPrimaryIsNamed() async throws {
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12))
        let fallback = try await StandIn()
        let worker = InProcessWorker(try bed.configuration(extra: fallback.settings))
        let result = try await bed.run("primary-ok")
        try await worker.stop()
        #expect(result.status == .succeeded)
        #expect(result.provider == "mock")
        #expect(result.model == "mock-1")
        #expect(fallback.server.stats.requests == 0)
        await fallback.stop()
        await bed.close()
    }
}

/// A second provider stand-in, serving as the fallback.
private struct StandIn {
    let server: MockLLMServer
    let port: Int
    let task: Task<Void, any Error>

    init() async throws {
        var quiet = Logger(label: "test.fallback-stand-in")
        quiet.logLevel = .critical
        let server = MockLLMServer(configuration: MockLLMConfiguration(port: 0, words: 12), logger: quiet)
        self.server = server
        self.task = Task { try await server.run() }
        self.port = try await server.listeningPort()
    }

    var settings: [String] {
        ["provider.fallback.kind=mock", "provider.fallback.base_url=http://127.0.0.1:\(port)", "provider.fallback.model=fallback-model"]
    }

    func stop() async { task.cancel() }
}

extension WorkerTestbed {
    /// A testbed whose stand-in answers every call with HTTP 503 (retryable).
    fileprivate static func failingPrimary() async throws -> WorkerTestbed {
        try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12, faults: MockFaults(failStatus: 503)))
    }

    /// Enqueues one job and waits for its result.
    fileprivate func run(_ id: String) async throws -> JobResult {
        try await enqueue(id: id)
        return try #require(try await waitForResults([id])[id]?.first)
    }
}
