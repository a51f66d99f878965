import Clocks
import Testing

@testable import LLMQProviders

/// The watchdog's limits on a test clock: which limit is found exceeded, and when, without
/// waiting for real time. (`ResponseReader` asks `check` from a timer; `TimeoutTests` run the
/// limits over real sockets.)
@Suite("CallWatchdog")
struct CallWatchdogTests {
    static let timeouts = Timeouts(connect: .seconds(10), firstChunk: .seconds(5), idle: .seconds(30), total: .seconds(60))

    /// The limit exceeded now, or nil when none is.
    private func expired(_ watchdog: CallWatchdog) -> ProviderError.Code? {
        if case .expired(let code, _) = watchdog.check() { return code }
        return nil
    }

    @Test func connectLimit() async throws {
        let clock = TestClock()
        let watchdog = CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock)
        #expect(watchdog.check() == .lookAgain(after: .seconds(5)), "the first-chunk limit could begin any moment: look at 5 s")
        await clock.advance(by: .seconds(9))
        #expect(expired(watchdog) == nil)
        await clock.advance(by: .seconds(1))
        #expect(expired(watchdog) == .timeoutConnect)
        #expect(watchdog.currentPhase == .connecting)
    }

    @Test func firstChunkLimitCountsFromTheConnection() async throws {
        let clock = TestClock()
        let watchdog = CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock)
        await clock.advance(by: .seconds(8))
        watchdog.connected()
        #expect(watchdog.currentPhase == .awaitingFirstEvent)
        await clock.advance(by: .seconds(4))  // 12 s: past the connect limit, but connected at 8 s
        #expect(expired(watchdog) == nil)
        await clock.advance(by: .seconds(1))  // 13 s: 5 s after connecting
        #expect(expired(watchdog) == .timeoutFirstChunk)
    }

    @Test func eachChunkResetsTheIdleLimit() async throws {
        let clock = TestClock()
        let watchdog = CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock)
        watchdog.connected()
        watchdog.firstEvent()
        for _ in 0..<3 {
            await clock.advance(by: .seconds(15))
            #expect(expired(watchdog) == nil)
            watchdog.bodyChunk()
        }
        #expect(watchdog.check() == .lookAgain(after: .seconds(15)), "at 45 s the total limit (60 s) comes before the idle one (75 s)")
        await clock.advance(by: .seconds(15))
        #expect(expired(watchdog) == .timeoutTotal)
    }

    @Test func idleGap() async throws {
        let clock = TestClock()
        let watchdog = CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock)
        watchdog.connected()
        watchdog.firstEvent()
        await clock.advance(by: .seconds(20))
        watchdog.bodyChunk()
        await clock.advance(by: .seconds(29))  // 49 s: 29 s after the last chunk
        #expect(watchdog.check() == .lookAgain(after: .seconds(1)))
        await clock.advance(by: .seconds(1))
        #expect(expired(watchdog) == .timeoutIdle)
        #expect(watchdog.currentPhase == .streaming)
    }

    @Test func nonStreamingCallsAreBoundByTotalOnly() async throws {
        let clock = TestClock()
        let watchdog = CallWatchdog(timeouts: Self.timeouts, streaming: false, clock: clock)
        watchdog.connected()
        #expect(watchdog.currentPhase == .awaitingWholeBody)
        #expect(watchdog.check() == .lookAgain(after: .seconds(60)))
        await clock.advance(by: .seconds(59))
        #expect(expired(watchdog) == nil)
        await clock.advance(by: .seconds(1))
        #expect(expired(watchdog) == .timeoutTotal)
    }

    @Test func theErrorNamesTheLimit() {
        let error = CallWatchdog.error(.timeoutIdle, limit: .seconds(30))
        #expect(error.code == .timeoutIdle)
        #expect(error.message == "no progress within 30.0 seconds")
        #expect(error.isRetryable)
    }
}
