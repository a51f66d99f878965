#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import LLMQMockLLM
import LLMQTesting
import Testing

@testable import LLMQProviders

@Suite("Timeouts and cancellation")
struct TimeoutTests {
    static let short = Timeouts(connect: .seconds(2), firstChunk: .milliseconds(200), idle: .milliseconds(200), total: .seconds(5))

    private func expectCode(_ prompt: String, _ code: ProviderError.Code, timeouts: Timeouts = Self.short) async throws {
        try await MockHarness.with { mock in
            // The code names the limit that fired; the watchdog's timing itself is tested on a test
            // clock (CallWatchdogTests), so nothing here depends on how loaded the machine is.
            let error = await providerError(mock.openAI(), chat(prompt), timeouts: timeouts)
            #expect(error?.code == code)
            #expect(error?.isRetryable == true)
        }
    }

    @Test func firstChunkDelay() async throws {
        try await self.expectCode("[[mock delay_ms=3000]]", .timeoutFirstChunk)
    }

    @Test func firstChunkHang() async throws {
        try await self.expectCode("[[mock hang=first]]", .timeoutFirstChunk)
    }

    @Test func idleGap() async throws {
        // Only the idle limit is short: on a loaded machine the first chunk may take longer than
        // 200 ms to arrive, and then the first-chunk limit fired instead (seen under `make test`
        // with the machine's two cores busy).
        let timeouts = Timeouts(connect: .seconds(5), firstChunk: .seconds(10), idle: .milliseconds(200), total: .seconds(20))
        try await self.expectCode("[[mock words=5 hang=mid]]", .timeoutIdle, timeouts: timeouts)
    }

    @Test func totalLimit() async throws {
        let timeouts = Timeouts(connect: .seconds(2), firstChunk: .seconds(1), idle: .seconds(1), total: .milliseconds(300))
        try await self.expectCode("[[mock words=50 gap_ms=50]]", .timeoutTotal, timeouts: timeouts)
    }

    @Test func nonStreamingIsBoundByTotalOnly() async throws {
        try await MockHarness.with { mock in
            // 300 ms to answer exceeds firstChunk (200 ms) but not total.
            let (text, _, _) = try await collect(mock.openAI(), chat("[[mock words=3 delay_ms=300]]", stream: false), timeouts: Self.short)
            #expect(text == MockReply.pieces(for: "[[mock words=3 delay_ms=300]]", words: 3).joined())
            let error = await providerError(mock.openAI(), chat("[[mock hang=first]]", stream: false),
                                            timeouts: Timeouts(connect: .seconds(1), firstChunk: .seconds(1), idle: .seconds(1), total: .milliseconds(300)))
            #expect(error?.code == .timeoutTotal)
        }
    }

    @Test func connectLimit() async throws {
        // A listener with a full accept queue drops further SYNs: connecting hangs.
        let listener = try #require(LoopbackListener(backlog: 0))
        defer { close(listener.fd) }
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<3 { fillers.append(listener.connectClient(nonBlocking: true).fd) }
        let port = Int(UInt16(bigEndian: listener.address.sin_port))
        let timeouts = Timeouts(connect: .milliseconds(300), firstChunk: .seconds(3), idle: .seconds(3), total: .seconds(5))
        // The client's own connect timeout matches, so its pool gives up the half-open connect quickly on shutdown.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: timeouts.httpClientTimeout))
        let provider = OpenAIProvider(httpClient: client, baseURL: "http://127.0.0.1:\(port)", apiKey: "k")
        // The connect limit (300 ms) fires, not the first-chunk or total ones (3 s, 5 s): the code
        // says which, without a wall-clock bound that a loaded machine would break.
        let error = await providerError(provider, chat("hi"), timeouts: timeouts)
        #expect(error?.code == .timeoutConnect)
        #expect(error?.isRetryable == true)
        try await client.shutdown()
    }

    @Test func cancellationEndsTheCallPromptly() async throws {
        try await MockHarness.with { mock in
            let provider = mock.openAI()
            let call = Task {
                try await collect(provider, chat("[[mock hang=first]]"), timeouts: .default)
            }
            try await waitUntil { mock.server.stats.activeStreams == 1 }
            call.cancel()
            // `.cancelled`, not `.timeoutFirstChunk` (5 s): the cancellation ended the call, not a limit.
            do {
                _ = try await call.value
                Issue.record("expected cancellation")
            } catch let error as ProviderError {
                #expect(error.code == .cancelled)
                #expect(!error.isRetryable)
            }
        }
    }

    @Test func refusedConnectionIsRetryable() async throws {
        try await MockHarness.with { mock in
            // Port 1 on loopback refuses. AsyncHTTPClient keeps retrying refused connects until
            // the request's time is up, so this ends as a connect timeout (or a connection error).
            let provider = OpenAIProvider(httpClient: mock.client, baseURL: "http://127.0.0.1:1", apiKey: "k")
            let timeouts = Timeouts(connect: .milliseconds(300), firstChunk: .seconds(1), idle: .seconds(1), total: .seconds(5))
            let error = await providerError(provider, chat("hi"), timeouts: timeouts)
            #expect(error?.code == .timeoutConnect || error?.code == .connection)
            #expect(error?.isRetryable == true)
        }
    }
}
