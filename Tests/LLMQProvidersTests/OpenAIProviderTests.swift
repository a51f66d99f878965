import LLMQMockLLM
import Synchronization
import Testing

@testable import LLMQProviders

@Suite("OpenAIProvider against MockLLMServer")
struct OpenAIProviderTests {
    @Test func streamsTheExactReply() async throws {
        try await MockHarness.with { mock in
            let prompt = "tell me something [[mock words=40]]"
            let (text, completion, deltas) = try await collect(mock.openAI(), chat(prompt))
            let expected = MockReply.pieces(for: prompt, words: 40)
            #expect(text == expected.joined())
            #expect(deltas == 40)
            #expect(completion.finishReason == "stop")
            #expect(completion.usage?.completionTokens == 40)
            #expect(completion.model == "mock-model")
        }
    }

    /// `llmq mock-llm --one-write` (the bench's drain variant) sends the same events in one write.
    @Test func aReplyInOneWriteStreamsTheSameDeltas() async throws {
        try await MockHarness.with(MockLLMConfiguration(port: 0, oneWrite: true)) { mock in
            let prompt = "all at once [[mock words=30]]"
            let (text, completion, deltas) = try await collect(mock.openAI(), chat(prompt))
            #expect(text == MockReply.pieces(for: prompt, words: 30).joined())
            #expect(deltas == 30)
            #expect(completion.finishReason == "stop")
            #expect(completion.usage?.completionTokens == 30)
        }
    }

    /// The hot path reads a stream on an event loop of the client's group (`ResponseReader`):
    /// every delta reaches the caller there, with no hop to the global executor per body part.
    @Test func deltasArriveOnAnEventLoopOfTheClient() async throws {
        try await MockHarness.with { mock in
            let group = mock.client.eventLoopGroup
            var deltas = 0
            var onLoop = 0
            let completion = try await mock.openAI().complete(chat("where [[mock words=25]]"), timeouts: .default) { _ in
                deltas += 1
                if group.any().inEventLoop { onLoop += 1 }
            }
            #expect(completion.finishReason == "stop")
            #expect(deltas == 25)
            #expect(onLoop == deltas)
        }
    }

    /// The worker's `CallStartWindow` frees a call's slot on `onRequestSent`: it must come once the
    /// request went out, before the reply, and never for a call that could not connect.
    @Test func onRequestSentIsToldOnceTheRequestWentOut() async throws {
        try await MockHarness.with { mock in
            let sent = SentCounter()
            var request = chat("hello [[mock words=5]]")
            request.onRequestSent = { sent.count.add(1, ordering: .relaxed) }
            var sentBeforeFirstDelta: Int?
            let completion = try await mock.openAI().complete(request, timeouts: .default) { _ in
                if sentBeforeFirstDelta == nil { sentBeforeFirstDelta = sent.count.load(ordering: .relaxed) }
            }
            #expect(completion.finishReason == "stop")
            #expect(sentBeforeFirstDelta == 1)
            #expect(sent.count.load(ordering: .relaxed) == 1)

            let unreachable = OpenAIProvider(httpClient: mock.client, baseURL: "http://127.0.0.1:1", apiKey: "sk-test", model: "m")
            let refused = SentCounter()
            var failing = chat("never sent")
            failing.onRequestSent = { refused.count.add(1, ordering: .relaxed) }
            let short = Timeouts(connect: .milliseconds(300), firstChunk: .seconds(1), idle: .seconds(1), total: .seconds(1))
            await #expect(throws: ProviderError.self) { _ = try await unreachable.complete(failing, timeouts: short) { _ in } }
            #expect(refused.count.load(ordering: .relaxed) == 0)
        }
    }

    private final class SentCounter: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test func nonStreamingDeliversOneDelta() async throws {
        try await MockHarness.with { mock in
            let (text, completion, deltas) = try await collect(mock.openAI(), chat("whole please", stream: false))
            #expect(text == MockReply.pieces(for: "whole please", words: 50).joined())
            #expect(deltas == 1)
            #expect(completion.finishReason == "stop")
            #expect(completion.usage?.completionTokens == 50)
        }
    }

    @Test func rateLimitIsRetriedHonouringRetryAfter() async throws {
        try await MockHarness.with { mock in
            let recorder = SleepRecorder()
            let runner = RetryRunner(policy: .default, clock: recorder, random: { 0.1 })
            let prompt = "busy [[mock words=3 fail=429 retry_after=9 fail_times=2]]"
            var codes: [ProviderError.Code] = []
            let (text, _, _) = try await runner.run({ _ in try await collect(mock.openAI(), chat(prompt)) }, onRetry: { _, error, _ in codes.append(error.code) })
            #expect(text == MockReply.pieces(for: prompt, words: 3).joined())
            #expect(codes == [.rateLimited, .rateLimited])
            // Jitter would give 4.4 s and 5.5 s; Retry-After raises both to 9 s.
            #expect(recorder.recorded == [.seconds(9), .seconds(9)])
            #expect(mock.server.stats.requests == 3)
        }
    }

    @Test func jitterAboveRetryAfterIsKept() async throws {
        try await MockHarness.with { mock in
            let recorder = SleepRecorder()
            let runner = RetryRunner(policy: .default, clock: recorder, random: { 0.5 })
            let prompt = "busy [[mock words=2 fail=429 retry_after=1 fail_times=2]]"
            _ = try await runner.run { _ in try await collect(mock.openAI(), chat(prompt)) }
            #expect(recorder.recorded == [.seconds(6), .milliseconds(7500)])
        }
    }

    /// Server errors and malformed events (broken streams) are retried until the attempts run out.
    @Test(arguments: [
        ("[[mock fail=503]]", ProviderError.Code.httpStatus, 503 as Int?),
        ("[[mock words=5 malformed_after=2]]", .malformedEvent, nil),
    ])
    func retryableFaultsUseUpTheAttempts(prompt: String, code: ProviderError.Code, httpStatus: Int?) async throws {
        try await MockHarness.with { mock in
            let recorder = SleepRecorder()
            let runner = RetryRunner(policy: .default, clock: recorder, random: { 0.99 })
            var attempts = 0
            do {
                _ = try await runner.run { _ in
                    attempts += 1
                    return try await collect(mock.openAI(), chat(prompt))
                }
                Issue.record("expected failure")
            } catch let error as ProviderError {
                #expect(error.code == code)
                #expect(error.httpStatus == httpStatus)
                #expect(error.isRetryable)
            }
            #expect(attempts == 3)
            #expect(mock.server.stats.requests == 3)
            #expect(recorder.recorded.count == 2)
            #expect(recorder.recorded.allSatisfy { $0 <= .seconds(10) })
            #expect(recorder.recorded[0] <= .seconds(8))
        }
    }

    @Test(arguments: [
        ("[[mock fail=400]]", ProviderError.Code.badRequest),
        ("[[mock fail=404]]", .badRequest),
        ("[[mock fail=403]]", .authentication),
        ("[[mock fail=429 fail_code=insufficient_quota]]", .quotaExceeded),
        ("[[mock fail=400 fail_code=content_filter]]", .contentFilter),
    ])
    func permanentFaultsAreNotRetried(prompt: String, code: ProviderError.Code) async throws {
        try await MockHarness.with { mock in
            let runner = RetryRunner(policy: .default, clock: SleepRecorder())
            do {
                _ = try await runner.run { _ in try await collect(mock.openAI(), chat(prompt)) }
                Issue.record("expected failure")
            } catch let error as ProviderError {
                #expect(error.code == code)
                #expect(!error.isRetryable)
            }
            #expect(mock.server.stats.requests == 1)
        }
    }

    @Test func interruptedStreamIsRetryable() async throws {
        try await MockHarness.with { mock in
            let prompt = "[[mock words=6 cut_after=3 fail_times=1]]"
            let error = await providerError(mock.openAI(), chat(prompt))
            #expect(error?.code == .streamInterrupted)
            #expect(error?.isRetryable == true)
            let runner = RetryRunner(policy: .default, clock: SleepRecorder())
            // fail_times=1 was used up above: the retry path now succeeds at once.
            let (text, _, _) = try await runner.run { _ in try await collect(mock.openAI(), chat(prompt)) }
            #expect(text == MockReply.pieces(for: prompt, words: 6).joined())
        }
    }

    /// A stream whose first event is not JSON is a broken stream: the attempt ends and a new
    /// stream (the next attempt) delivers the whole text.
    @Test func malformedEventIsRetriedAsANewStream() async throws {
        try await MockHarness.with { mock in
            let prompt = "[[mock words=6 malformed_after=0 fail_times=1]]"
            let recorder = SleepRecorder()
            let runner = RetryRunner(policy: .default, clock: recorder, random: { 0 })
            var failures: [ProviderError] = []
            var texts: [String] = []
            let completion = try await runner.run({ _ in
                var text = ""
                defer { texts.append(text) }
                return try await mock.openAI().complete(chat(prompt), timeouts: .default) { text += $0 }
            }, onRetry: { _, error, _ in failures.append(error) })
            #expect(failures.map(\.code) == [.malformedEvent])
            #expect(failures.first?.isRetryable == true)
            #expect(texts == ["", MockReply.pieces(for: prompt, words: 6).joined()])
            #expect(completion.finishReason == "stop")
            #expect(mock.server.stats.requests == 2)
            #expect(recorder.recorded == [.seconds(4)])
        }
    }

    @Test func midStreamErrorEvent() async throws {
        try await MockHarness.with { mock in
            var delivered = 0
            do {
                _ = try await mock.openAI().complete(chat("[[mock words=5 fail=500 error_after=2]]"), timeouts: .default) { _ in delivered += 1 }
                Issue.record("expected failure")
            } catch let error as ProviderError {
                #expect(error.code == .providerError)
                #expect(error.isRetryable)
            }
            #expect(delivered == 2)
        }
    }

    @Test func contentFilterFinish() async throws {
        try await MockHarness.with { mock in
            let (_, completion, _) = try await collect(mock.openAI(), chat("[[mock words=3 filter=1]]"))
            #expect(completion.finishReason == "content_filter")
        }
    }

    @Test func apiKeyNeverAppearsInErrors() async throws {
        try await MockHarness.with { mock in
            let key = "sk-very-secret-key-42424242"
            let error = await providerError(mock.openAI(apiKey: key), chat("[[mock fail=401]]"))
            #expect(error?.code == .authentication)
            #expect(error.map { !"\($0)".contains(key) && !$0.message.contains(key) } == true)
            // Even when the server echoes the key in a body the provider quotes.
            let other = await providerError(mock.openAI(apiKey: key), chat("[[mock words=4 malformed_after=1]]"))
            #expect(other.map { !"\($0)".contains(key) } == true)
        }
    }

    @Test func onDeltaErrorsPassThroughUnchanged() async throws {
        struct Stop: Error {}
        try await MockHarness.with { mock in
            await #expect(throws: Stop.self) {
                _ = try await mock.openAI().complete(chat("[[mock words=5]]"), timeouts: .default) { _ in throw Stop() }
            }
        }
    }

    /// A sink that asks for a wait after every third piece, as the worker's does when librdkafka's
    /// queue is full: the reader must stop handing over pieces until the wait is over, and go on
    /// after it in order.
    private final class PausingSink: DeltaSink, @unchecked Sendable {
        private let state = Mutex<(pieces: [String], waiting: Bool, offeredWhileWaiting: Int, waits: Int)>(([], false, 0, 0))
        let failingWait: Int?

        init(failingWait: Int? = nil) { self.failingWait = failingWait }

        var pieces: [String] { state.withLock { $0.pieces } }
        var offeredWhileWaiting: Int { state.withLock { $0.offeredWhileWaiting } }
        var waits: Int { state.withLock { $0.waits } }

        func offer(_ text: String) throws -> DeltaBackpressure? {
            let wait = state.withLock { state -> Int? in
                if state.waiting { state.offeredWhileWaiting += 1 }
                state.pieces.append(text)
                guard state.pieces.count % 3 == 0 else { return nil }
                state.waiting = true
                state.waits += 1
                return state.waits
            }
            guard let wait else { return nil }
            return DeltaBackpressure {
                // Off the event loop, as a real wait for queue room is: the reader sits idle meanwhile.
                for _ in 0..<20 { await Task.yield() }
                self.state.withLock { $0.waiting = false }
                if wait == self.failingWait { throw Refused() }
            }
        }
    }

    struct Refused: Error {}

    @Test func backpressurePausesTheReaderAndKeepsTheOrder() async throws {
        try await MockHarness.with { mock in
            let prompt = "pause often [[mock words=20]]"
            let sink = PausingSink()
            let completion = try await mock.openAI().complete(chat(prompt), timeouts: .default, into: sink)
            #expect(completion.finishReason == "stop")
            #expect(sink.pieces == MockReply.pieces(for: prompt, words: 20))
            #expect(sink.waits == 6)
            #expect(sink.offeredWhileWaiting == 0, "no piece is handed over while a wait runs")
        }
    }

    @Test func aFailedBackpressureWaitEndsTheCallWithItsOwnError() async throws {
        try await MockHarness.with { mock in
            let sink = PausingSink(failingWait: 2)
            await #expect(throws: Refused.self) {
                _ = try await mock.openAI().complete(chat("[[mock words=20]]"), timeouts: .default, into: sink)
            }
            #expect(sink.pieces.count == 6, "nothing after the failed wait")
            #expect(sink.offeredWhileWaiting == 0)
        }
    }

    @Test func stampedDeltasCarryWallClockMicros() async throws {
        try await MockHarness.with(MockLLMConfiguration(port: 0, words: 3, stampDeltas: true)) { mock in
            var pieces: [String] = []
            _ = try await mock.openAI().complete(chat("stamp"), timeouts: .default) { pieces.append($0) }
            #expect(pieces.count == 3)
            for (piece, expected) in zip(pieces, MockReply.pieces(for: "stamp", words: 3)) {
                #expect(piece.hasPrefix("@"))
                let parts = piece.dropFirst().split(separator: "|", maxSplits: 1)
                #expect(Int64(parts[0]).map { $0 > 1_600_000_000_000_000 } == true)
                #expect(String(parts[1]) == expected)
            }
        }
    }

    @Test func tracksConcurrentStreams() async throws {
        try await MockHarness.with(MockLLMConfiguration(port: 0, words: 5, gap: .milliseconds(30))) { mock in
            let provider = mock.openAI()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask { _ = try await collect(provider, chat("parallel \(index)")) }
                }
                try await group.waitForAll()
            }
            #expect(mock.server.stats.requests == 4)
            #expect(mock.server.stats.maxConcurrentStreams >= 2)
            #expect(mock.server.stats.maxConcurrentStreams <= 4)
            try await waitUntil { mock.server.stats.activeStreams == 0 }
        }
    }
}
