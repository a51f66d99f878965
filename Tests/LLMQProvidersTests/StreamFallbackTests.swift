import LLMQCore
import Testing

@testable import LLMQProviders

/// The stream fallback: its state machine on elapsed time, and the decorator on a test clock.
@Suite("Stream fallback")
struct StreamFallbackTests {
    static let policy = StreamFallbackPolicy(interruptions: 3, window: .seconds(60), quiet: .seconds(300))

    /// The state machine behind a reference, read at whole seconds, so expectations call no mutating methods.
    final class Machine {
        var state: StreamFallbackState
        init(_ policy: StreamFallbackPolicy) { self.state = StreamFallbackState(policy: policy) }
        var isFallingBack: Bool { self.state.isFallingBack }
        func interrupted(_ second: Int) -> StreamFallbackState.Transition? { self.state.interrupted(at: .seconds(second)) }
        /// "stream", "no stream", or "resumed" (may stream, and the quiet period just ended).
        func mayStream(_ second: Int) -> String {
            switch self.state.mayStream(at: .seconds(second)) {
            case (true, nil): "stream"
            case (true, .resumedStreaming?): "resumed"
            case (false, nil): "no stream"
            case (let may, let transition): "unexpected \(may) \(String(describing: transition))"
            }
        }
    }

    @Test func switchesAfterEnoughInterruptionsWithinTheWindow() {
        let state = Machine(Self.policy)
        #expect(state.interrupted(0) == nil)
        #expect(state.interrupted(10) == nil)
        #expect(state.mayStream(11) == "stream")
        #expect(state.interrupted(20) == .stoppedStreaming(interruptions: 3))
        #expect(state.isFallingBack)
        #expect(state.mayStream(21) == "no stream")
    }

    @Test func interruptionsOlderThanTheWindowDoNotCount() {
        let state = Machine(Self.policy)
        #expect(state.interrupted(0) == nil)
        #expect(state.interrupted(30) == nil)
        // The first one is 60 s old by now: two within the window.
        #expect(state.interrupted(60) == nil)
        #expect(!state.isFallingBack)
        #expect(state.interrupted(61) == .stoppedStreaming(interruptions: 3))
    }

    @Test func streamingResumesAfterTheQuietPeriodAndStartsCountingAfresh() {
        let state = Machine(Self.policy)
        for second in [0, 1, 2] { _ = state.interrupted(second) }
        #expect(state.mayStream(301) == "no stream")
        #expect(state.mayStream(302) == "resumed")
        #expect(!state.isFallingBack)
        #expect(state.mayStream(303) == "stream")
        // The interruptions before the switch are forgotten: two more do not switch again.
        #expect(state.interrupted(304) == nil)
        #expect(state.interrupted(305) == nil)
        #expect(state.interrupted(306) == .stoppedStreaming(interruptions: 3))
    }

    @Test func aLateInterruptionWhileFallingBackExtendsTheQuietPeriod() {
        let state = Machine(Self.policy)
        for second in [0, 1, 2] { _ = state.interrupted(second) }
        // A stream that began before the switch breaks afterwards.
        #expect(state.interrupted(100) == nil)
        #expect(state.mayStream(302) == "no stream")
        #expect(state.mayStream(400) == "resumed")
    }

    @Test func zeroInterruptionsIsOff() {
        let state = Machine(StreamFallbackPolicy(interruptions: 0))
        for second in 0..<100 { #expect(state.interrupted(second) == nil) }
        #expect(state.mayStream(100) == "stream")
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
        let allStreamed = base.requests.allSatisfy(\.stream)
        #expect(allStreamed)
    }
}
