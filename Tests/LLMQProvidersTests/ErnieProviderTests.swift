import LLMQMockLLM
import Testing

@testable import LLMQProviders

@Suite("ErnieProvider against MockLLMServer")
struct ErnieProviderTests {
    @Test func fetchesATokenOnceAndStreamsTheExactReply() async throws {
        try await MockHarness.with { mock in
            let provider = mock.ernie()
            for prompt in ["first [[mock words=12]]", "second [[mock words=7]]"] {
                let (text, completion, deltas) = try await collect(provider, chat(prompt))
                let expected = MockReply.pieces(for: prompt, words: prompt.hasPrefix("first") ? 12 : 7)
                #expect(text == expected.joined())
                #expect(deltas == expected.count)
                #expect(completion.finishReason == "stop")
                #expect(completion.usage?.completionTokens == expected.count)
            }
            #expect(mock.server.stats.tokenRequests == 1)
        }
    }

    @Test func nonStreaming() async throws {
        try await MockHarness.with { mock in
            let (text, completion, deltas) = try await collect(mock.ernie(), chat("whole [[mock words=9]]", stream: false))
            #expect(text == MockReply.pieces(for: "whole [[mock words=9]]", words: 9).joined())
            #expect(deltas == 1)
            #expect(completion.finishReason == "stop")
        }
    }

    @Test(arguments: [110, 111])
    func expiredTokenIsRefreshedAndTheCallRetriedOnce(code: Int) async throws {
        try await MockHarness.with { mock in
            let prompt = "[[mock words=4 ernie_error=\(code) fail_times=1]]"
            let (text, _, _) = try await collect(mock.ernie(), chat(prompt))
            #expect(text == MockReply.pieces(for: prompt, words: 4).joined())
            #expect(mock.server.stats.tokenRequests == 2)
            #expect(mock.server.stats.requests == 2)
        }
    }

    @Test func refreshIsTriedOnlyOnce() async throws {
        try await MockHarness.with { mock in
            let error = await providerError(mock.ernie(), chat("[[mock ernie_error=111]]"))
            #expect(error?.code == .authentication)
            #expect(error?.providerCode == 111)
            #expect(mock.server.stats.requests == 2)
        }
    }

    @Test func givenTokenIsUsedAndNeverLeaks() async throws {
        try await MockHarness.with { mock in
            let (text, _, _) = try await collect(mock.ernie(.accessToken("mock-static-token")), chat("hi [[mock words=3]]"))
            #expect(text == MockReply.pieces(for: "hi [[mock words=3]]", words: 3).joined())
            #expect(mock.server.stats.tokenRequests == 0)
            // The mock echoes a rejected token in error_msg, as the message would in a URL.
            let bogus = "bogus-token-5550123"
            let error = await providerError(mock.ernie(.accessToken(bogus)), chat("hi"))
            #expect(error?.code == .authentication)
            #expect(error?.providerCode == 110)
            #expect(error.map { !"\($0)".contains(bogus) } == true)
        }
    }

    @Test func refusedKeysNeverLeak() async throws {
        var configuration = MockLLMConfiguration(port: 0)
        configuration.ernieCredentials = (apiKey: "right-ak-000", secretKey: "right-sk-000")
        try await MockHarness.with(configuration) { mock in
            let error = await providerError(mock.ernie(.keys(apiKey: "wrong-ak-111111", secretKey: "wrong-sk-222222")), chat("hi"))
            #expect(error?.code == .authentication)
            #expect(error.map { !"\($0)".contains("wrong-ak-111111") && !"\($0)".contains("wrong-sk-222222") } == true)
        }
    }

    @Test(arguments: [
        (18, ProviderError.Code.rateLimited, true),
        (336501, .rateLimited, true),
        (336100, .providerError, true),
        (17, .quotaExceeded, false),
        (19, .quotaExceeded, false),
        (336003, .badRequest, false),
    ])
    func errorCodesAreClassified(code: Int, expected: ProviderError.Code, retryable: Bool) async throws {
        try await MockHarness.with { mock in
            let error = await providerError(mock.ernie(), chat("[[mock ernie_error=\(code)]]"))
            #expect(error?.code == expected)
            #expect(error?.providerCode == code)
            #expect(error?.isRetryable == retryable)
        }
    }

    @Test func midStreamErrorIsCaughtAndRetried() async throws {
        try await MockHarness.with { mock in
            let prompt = "[[mock words=5 ernie_error=18 error_after=2 fail_times=1]]"
            let recorder = SleepRecorder()
            let runner = RetryRunner(policy: .default, clock: recorder, random: { 0 })
            var texts: [String] = []
            let completion = try await runner.run { _ in
                var text = ""
                defer { texts.append(text) }
                return try await mock.ernie().complete(chat(prompt), timeouts: .default) { text += $0 }
            }
            let expected = MockReply.pieces(for: prompt, words: 5)
            #expect(texts == [expected.prefix(2).joined(), expected.joined()])
            #expect(completion.finishReason == "stop")
            #expect(recorder.recorded.count == 1)
        }
    }

    @Test func safetyRefusalIsAContentFilterFinish() async throws {
        try await MockHarness.with { mock in
            let (_, completion, _) = try await collect(mock.ernie(), chat("[[mock words=3 filter=1]]"))
            #expect(completion.finishReason == "content_filter")
        }
    }

    @Test func cutStreamIsInterrupted() async throws {
        try await MockHarness.with { mock in
            let error = await providerError(mock.ernie(), chat("[[mock words=5 cut_after=2]]"))
            #expect(error?.code == .streamInterrupted)
            #expect(error?.partialUsage?.completionTokens == 2)
        }
    }

    @Test func malformedEventIsRetryable() async throws {
        try await MockHarness.with { mock in
            let prompt = "[[mock words=4 malformed_after=1 fail_times=1]]"
            let error = await providerError(mock.ernie(), chat(prompt))
            #expect(error?.code == .malformedEvent)
            #expect(error?.isRetryable == true)
            // fail_times=1 was used up above: the retry is a clean stream.
            let runner = RetryRunner(policy: .default, clock: SleepRecorder())
            let (text, _, _) = try await runner.run { _ in try await collect(mock.ernie(), chat(prompt)) }
            #expect(text == MockReply.pieces(for: prompt, words: 4).joined())
        }
    }
}
