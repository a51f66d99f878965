import AsyncHTTPClient
import Clocks
import Foundation
import LLMQMockLLM
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import LLMQProviders

/// The stand-in's rate limiter as a value: time is an argument, so nothing here waits.
@Suite("MockRateLimiter")
struct MockRateLimiterTests {
    @Test("a full bucket admits one second's worth at once, then one request per 1/rate")
    func requestBucket() {
        var limiter = MockRateLimiter(requestsPerSecond: 20, tokensPerSecond: nil)
        let burst = (0..<25).map { _ in limiter.admit(tokens: 10, at: .zero) }
        #expect(burst.filter(\.admitted).count == 20)
        let refused = burst[20]
        #expect(refused.refusedBy == .requests)
        #expect(refused.retryAfter == .milliseconds(50))
        #expect(refused.requests == MockRateLimiter.Status(limit: 20, remaining: 0, reset: .seconds(1)))
        #expect(refused.tokens == nil)
        // Refused requests took nothing: the next slot opens after 1/rate, not later.
        #expect(!limiter.admit(tokens: 10, at: .milliseconds(49)).admitted)
        let next = limiter.admit(tokens: 10, at: .milliseconds(50))
        #expect(next.admitted)
        #expect(next.requests?.remaining == 0)
        // A second later the bucket is full again.
        #expect(limiter.peek(at: .milliseconds(1050)).requests == MockRateLimiter.Status(limit: 20, remaining: 20, reset: .zero))
    }

    @Test("the token bucket refuses a request whose cost it does not hold, and charges at most its capacity")
    func tokenBucket() {
        var limiter = MockRateLimiter(requestsPerSecond: 100, tokensPerSecond: 1000)
        #expect(limiter.admit(tokens: 600, at: .zero).admitted)
        let refused = limiter.admit(tokens: 600, at: .zero)
        #expect(refused.refusedBy == .tokens)
        #expect(refused.retryAfter == .milliseconds(200))
        #expect(refused.tokens?.remaining == 400)
        #expect(refused.requests?.remaining == 99)
        #expect(limiter.admit(tokens: 600, at: .milliseconds(200)).admitted)
        // Larger than a second's worth: admitted once the bucket is full, and empties it.
        #expect(!limiter.admit(tokens: 5000, at: .milliseconds(500)).admitted)
        let huge = limiter.admit(tokens: 5000, at: .milliseconds(1200))
        #expect(huge.admitted)
        #expect(huge.tokens?.remaining == 0)
    }

    @Test("no limits: everything is admitted and nothing is reported")
    func unlimited() {
        var limiter = MockRateLimiter(requestsPerSecond: nil, tokensPerSecond: 0)
        #expect(!limiter.isLimiting)
        let decision = limiter.admit(tokens: 1_000_000, at: .zero)
        #expect(decision.admitted)
        #expect(decision.requests == nil && decision.tokens == nil)
    }

    @Test("reset times in OpenAI's format")
    func resetFormat() {
        #expect(MockRateLimiter.formatReset(.zero) == "0ms")
        #expect(MockRateLimiter.formatReset(.milliseconds(120)) == "120ms")
        #expect(MockRateLimiter.formatReset(.microseconds(49_001)) == "50ms")
        #expect(MockRateLimiter.formatReset(.seconds(1)) == "1s")
        #expect(MockRateLimiter.formatReset(.milliseconds(1500)) == "1.5s")
        #expect(MockRateLimiter.formatReset(.milliseconds(17_065)) == "17.065s")
        #expect(MockRateLimiter.formatReset(.seconds(360)) == "6m0s")
    }
}

/// The limits over real sockets, with the limiter on a test clock: counts and headers, no timing.
@Suite("MockLLMServer rate limits and quota")
struct MockRateLimitServerTests {
    @Test("a burst beyond the limit gets 429s with OpenAI's body and headers; after Retry-After a call succeeds")
    func burst() async throws {
        let clock = TestClock()
        try await withMock(MockLLMConfiguration(port: 0, words: 5, requestsPerSecond: 5), clock: clock) { mock in
            let answers = try await withThrowingTaskGroup(of: Answer.self) { group in
                for i in 0..<8 { group.addTask { try await mock.chat("burst \(i)") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let ok = answers.filter { $0.status == 200 }
            let throttled = answers.filter { $0.status == 429 }
            #expect(ok.count == 5)
            #expect(throttled.count == 3)
            for answer in ok {
                #expect(answer.header("x-ratelimit-limit-requests") == "300")
                #expect(answer.header("x-ratelimit-remaining-requests").flatMap { Int($0) }.map { (0..<5).contains($0) } == true)
                #expect(answer.header("x-ratelimit-reset-requests") != nil)
                #expect(answer.header("retry-after") == nil)
            }
            for answer in throttled {
                #expect(answer.header("retry-after") == "1")
                #expect(answer.header("retry-after-ms") == "200")
                #expect(answer.header("x-ratelimit-limit-requests") == "300")
                #expect(answer.header("x-ratelimit-remaining-requests") == "0")
                #expect(answer.header("x-ratelimit-reset-requests") == "1s")
                #expect(answer.header("x-ratelimit-limit-tokens") == nil)
                let error = try #require(answer.error)
                #expect(error.code == "rate_limit_exceeded")
                #expect(error.type == "requests")
                #expect(error.message.contains("Please try again in 200ms"))
            }
            #expect(mock.server.stats.throttled == 3)
            #expect(mock.server.stats.requests == 8)

            // The provider reads the 429 as rate limiting and takes retry-after-ms over Retry-After.
            let error = await providerError(mock.openAI(), chat("one more"))
            #expect(error?.code == .rateLimited)
            #expect(error?.retryAfter == .milliseconds(200))

            await clock.advance(by: .milliseconds(200))
            let after = try await mock.chat("after the wait")
            #expect(after.status == 200)
            #expect(after.header("x-ratelimit-remaining-requests") == "0")
            #expect(mock.server.stats.throttled == 4)
        }
    }

    @Test("the token limit counts prompt words plus max_tokens and answers type tokens")
    func tokens() async throws {
        let clock = TestClock()
        try await withMock(MockLLMConfiguration(port: 0, words: 5, tokensPerSecond: 100), clock: clock) { mock in
            // "spend tokens" is 2 words: cost 2 + 60.
            let first = try await mock.chat("spend tokens", maxTokens: 60)
            #expect(first.status == 200)
            #expect(first.header("x-ratelimit-limit-tokens") == "6000")
            #expect(first.header("x-ratelimit-remaining-tokens") == "38")
            #expect(first.header("x-ratelimit-limit-requests") == nil)
            let second = try await mock.chat("spend tokens", maxTokens: 60)
            #expect(second.status == 429)
            #expect(second.error?.type == "tokens")
            #expect(second.error?.code == "rate_limit_exceeded")
            #expect(second.header("retry-after-ms") == "240")
            // Without max_tokens the reply's words (5) count: that fits in what is left.
            #expect(try await mock.chat("small").status == 200)
            await clock.advance(by: .milliseconds(300))
            #expect(try await mock.chat("spend tokens", maxTokens: 60).status == 200)
        }
    }

    @Test("the quota answers insufficient_quota without Retry-After until it is reset")
    func quota() async throws {
        try await withMock(MockLLMConfiguration(port: 0, words: 5, requestsPerSecond: 1000, quotaRequests: 2), clock: TestClock()) { mock in
            #expect(try await mock.chat("a").status == 200)
            #expect(try await mock.chat("b").status == 200)
            let refused = try await mock.chat("c")
            #expect(refused.status == 429)
            #expect(refused.error?.code == "insufficient_quota")
            #expect(refused.error?.type == "insufficient_quota")
            #expect(refused.header("retry-after") == nil)
            #expect(refused.header("retry-after-ms") == nil)
            #expect(refused.header("x-ratelimit-limit-requests") == "60000")
            let error = await providerError(mock.openAI(), chat("d"))
            #expect(error?.code == .quotaExceeded)
            #expect(error?.isRetryable == false)

            // Topped up over HTTP, as a process-level test would do it.
            let reset = try await mock.post("/mock/quota/reset?requests=1", json: "")
            #expect(reset.status == 200)
            #expect(try await mock.chat("e").status == 200)
            #expect(try await mock.chat("f").status == 429)
            mock.server.resetQuota()
            #expect(try await mock.chat("g").status == 200)

            let stats = try await mock.stats()
            #expect(stats.quotaRefused == 3)
            #expect(stats.throttled == 0)
            #expect(stats.requests == 7)
        }
    }

    @Test("with no limits set, answers carry no rate-limit headers")
    func noLimits() async throws {
        try await withMock(MockLLMConfiguration(port: 0, words: 5), clock: TestClock()) { mock in
            let answer = try await mock.chat("hello")
            #expect(answer.status == 200)
            #expect(answer.header("x-ratelimit-limit-requests") == nil)
            #expect(answer.header("x-ratelimit-limit-tokens") == nil)
        }
    }
}

// MARK: - Helpers

/// One raw answer of the stand-in.
private struct Answer: Sendable {
    struct ErrorBody: Decodable, Sendable {
        var message: String
        var type: String
        var code: String?
    }
    private struct Envelope: Decodable { var error: ErrorBody }

    var status: Int
    var headers: HTTPHeaders
    var body: String

    func header(_ name: String) -> String? { self.headers.first(name: name) }
    var error: ErrorBody? { try? JSONDecoder().decode(Envelope.self, from: Data(self.body.utf8)).error }
}

private struct LimitedMock: Sendable {
    let server: MockLLMServer
    let port: Int
    let client: HTTPClient

    func openAI() -> OpenAIProvider {
        OpenAIProvider(httpClient: self.client, baseURL: "http://127.0.0.1:\(self.port)", apiKey: "sk-test", model: "mock-model")
    }

    func post(_ path: String, json: String) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(self.port)\(path)")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await self.client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }

    /// A streaming chat request, its body read to the end.
    func chat(_ prompt: String, maxTokens: Int? = nil) async throws -> Answer {
        let max = maxTokens.map { #","max_tokens":\#($0)"# } ?? ""
        return try await self.post(
            "/v1/chat/completions",
            json: #"{"model":"mock-1","stream":true,"messages":[{"role":"user","content":"\#(prompt)"}]\#(max)}"#
        )
    }

    func stats() async throws -> MockLLMStats {
        let response = try await self.client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(self.port)/mock/stats"), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONDecoder().decode(MockLLMStats.self, from: Data(body.readableBytesView))
    }
}

/// A stand-in whose limiter runs on `clock`, on an ephemeral port, torn down after `body`.
private func withMock(_ configuration: MockLLMConfiguration, clock: TestClock<Duration>, _ body: (LimitedMock) async throws -> Void) async throws {
    var logger = Logger(label: "mock-llm")
    logger.logLevel = .critical
    let server = MockLLMServer(configuration: configuration, logger: logger, clock: clock)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = try await server.listeningPort()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await body(LimitedMock(server: server, port: port, client: client))
            try await client.shutdown()
            group.cancelAll()
        } catch {
            try? await client.shutdown()
            group.cancelAll()
            throw error
        }
    }
}
