import LLMQCore
import Testing

@testable import LLMQProviders

/// The stream fallback: its state machine on elapsed time, and the decorator on a test clock.
@Suite("Stream fallback")
struct StreamFallbackTests {
    static let policy = StreamFallbackPolicy(interruptions: 3, window: .seconds(60), quiet: .seconds(300))

    @Test func switchesAfterEnoughInterruptionsWithinTheWindow() {
        var state = StreamFallbackState(policy: Self.policy)
        #expect(state.interrupted(at: .seconds(0)) == nil)
        #expect(state.interrupted(at: .seconds(10)) == nil)
        #expect(state.mayStream(at: .seconds(11)) == (true, nil))
        #expect(state.interrupted(at: .seconds(20)) == .stoppedStreaming(interruptions: 3))
        #expect(state.isFallingBack)
        #expect(state.mayStream(at: .seconds(21)) == (false, nil))
    }

    @Test func interruptionsOlderThanTheWindowDoNotCount() {
        var state = StreamFallbackState(policy: Self.policy)
        #expect(state.interrupted(at: .seconds(0)) == nil)
        #expect(state.interrupted(at: .seconds(30)) == nil)
        // The first one is 60 s old by now: two within the window.
        #expect(state.interrupted(at: .seconds(60)) == nil)
        #expect(!state.isFallingBack)
        #expect(state.interrupted(at: .seconds(61)) == .stoppedStreaming(interruptions: 3))
    }

    @Test func streamingResumesAfterTheQuietPeriodAndStartsCountingAfresh() {
        var state = StreamFallbackState(policy: Self.policy)
        for second in [0, 1, 2] { _ = state.interrupted(at: .seconds(second)) }
        #expect(state.mayStream(at: .seconds(301)) == (false, nil))
        #expect(state.mayStream(at: .seconds(302)) == (true, .resumedStreaming))
        #expect(!state.isFallingBack)
        #expect(state.mayStream(at: .seconds(303)) == (true, nil))
        // The interruptions before the switch are forgotten: two more do not switch again.
        #expect(state.interrupted(at: .seconds(304)) == nil)
        #expect(state.interrupted(at: .seconds(305)) == nil)
        #expect(state.interrupted(at: .seconds(306)) == .stoppedStreaming(interruptions: 3))
    }

    @Test func aLateInterruptionWhileFallingBackExtendsTheQuietPeriod() {
        var state = StreamFallbackState(policy: Self.policy)
        for second in [0, 1, 2] { _ = state.interrupted(at: .seconds(second)) }
        // A stream that began before the switch breaks afterwards.
        #expect(state.interrupted(at: .seconds(100)) == nil)
        #expect(state.mayStream(at: .seconds(302)) == (false, nil))
        #expect(state.mayStream(at: .seconds(400)) == (true, .resumedStreaming))
    }

    @Test func zeroInterruptionsIsOff() {
        var state = StreamFallbackState(policy: StreamFallbackPolicy(interruptions: 0))
        for second in 0..<100 { #expect(state.interrupted(at: .seconds(second)) == nil) }
        #expect(state.mayStream(at: .seconds(100)) == (true, nil))
    }

    @Test func whatCountsAsAnInterruption() {
        for code in [ProviderError.Code.streamInterrupted, .malformedEvent, .timeoutIdle] {
            #expect(StreamFallbackPolicy.isInterruption(code), "\(code)")
        }
        for code in [ProviderError.Code.connection, .timeoutConnect, .timeoutFirstChunk, .timeoutTotal, .httpStatus, .rateLimited,
                     .providerError, .badRequest, .cancelled] {
            #expect(!StreamFallbackPolicy.isInterruption(code), "\(code)")
        }
    }

    @Test("the decorator: broken streams switch calls to non-streaming (one delta, flagged), and the quiet period brings streams back")
    func decoratorSwitchesAndResumes() async throws {
        let clock = SleepRecorder()
        let base = ScriptedProvider("openai", [.fail(.streamInterrupted), .fail(.timeoutIdle), .reply("whole text")])
        let transitions = Recorder<StreamFallbackState.Transition>()
        let provider = StreamFallbackProvider(base, policy: StreamFallbackPolicy(interruptions: 2, window: .seconds(60), quiet: .seconds(300)),
                                              stopwatch: Stopwatch(clock: clock), onTransition: transitions.record)
        #expect(provider.name == "openai")
        #expect(await providerError(provider, fallbackRequest())?.code == .streamInterrupted)
        #expect(await providerError(provider, fallbackRequest())?.code == .timeoutIdle)
        #expect(transitions.events == [.stoppedStreaming(interruptions: 2)])
        #expect(provider.isFallingBack)

        let (text, completion, deltas) = try await collect(provider, fallbackRequest())
        #expect(text == "whole text")
        #expect(deltas == 1)
        #expect(completion.streamFallback)
        #expect(base.requests.map(\.stream) == [true, true, false])

        // A job that asked for no stream is not a fallback.
        let (_, plain, _) = try await collect(provider, fallbackRequest(stream: false))
        #expect(!plain.streamFallback)

        clock.pass(.seconds(300))
        let (again, streamed, pieces) = try await collect(provider, fallbackRequest())
        #expect(again == "whole text")
        #expect(pieces == 2)
        #expect(!streamed.streamFallback)
        #expect(base.requests.last?.stream == true)
        #expect(transitions.events == [.stoppedStreaming(interruptions: 2), .resumedStreaming])
    }

    @Test("failures that are not broken streams, and the caller's own failures, do not count")
    func otherFailuresDoNotCount() async throws {
        let base = ScriptedProvider("openai", [.fail(.connection), .fail(.timeoutFirstChunk), .fail(.httpStatus), .reply("ok")])
        let provider = StreamFallbackProvider(base, policy: StreamFallbackPolicy(interruptions: 1), stopwatch: Stopwatch(clock: SleepRecorder()))
        for _ in 0..<3 { _ = await providerError(provider, fallbackRequest()) }
        struct Refused: Error {}
        // The caller refuses the first delta: not the stream's fault.
        await #expect(throws: Refused.self) {
            _ = try await provider.complete(fallbackRequest(), timeouts: .default) { _ in throw Refused() }
        }
        #expect(!provider.isFallingBack)
        #expect(base.requests.allSatisfy(\.stream))
    }
}
