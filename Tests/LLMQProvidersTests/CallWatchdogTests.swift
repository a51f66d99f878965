import Clocks
import Synchronization
import Testing

@testable import LLMQProviders

/// The watchdog's limits on a test clock: which limit fires, and when, without waiting for real time.
@Suite("CallWatchdog")
struct CallWatchdogTests {
    static let timeouts = Timeouts(connect: .seconds(10), firstChunk: .seconds(5), idle: .seconds(30), total: .seconds(60))

    /// Runs the watchdog in a task, which ends with the code of the limit that fired (nil: cancelled).
    final class Watch: Sendable {
        let watchdog: CallWatchdog
        let task: Task<ProviderError.Code?, Never>
        private let state: Ended
        var hasEnded: Bool { self.state.flag.withLock { $0 } }

        final class Ended: Sendable {
            let flag = Mutex(false)
        }

        init(_ watchdog: CallWatchdog) {
            let state = Ended()
            self.watchdog = watchdog
            self.state = state
            self.task = Task {
                defer { state.flag.withLock { $0 = true } }
                do {
                    try await watchdog.run()
                    return nil
                } catch {
                    return (error as? ProviderError)?.code
                }
            }
        }

        var code: ProviderError.Code? { get async { await self.task.value } }
    }

    @Test func connectLimit() async throws {
        let clock = TestClock()
        let watch = Watch(CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock))
        await clock.advance(by: .seconds(9))
        #expect(!watch.hasEnded)
        await clock.advance(by: .seconds(1))
        #expect(await watch.code == .timeoutConnect)
        #expect(watch.watchdog.currentPhase == .connecting)
    }

    @Test func firstChunkLimitCountsFromTheConnection() async throws {
        let clock = TestClock()
        let watch = Watch(CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock))
        await clock.advance(by: .seconds(8))
        watch.watchdog.connected()
        #expect(watch.watchdog.currentPhase == .awaitingFirstEvent)
        await clock.advance(by: .seconds(4))  // 12 s: past the connect limit, but connected at 8 s
        #expect(!watch.hasEnded)
        await clock.advance(by: .seconds(1))  // 13 s: 5 s after connecting
        #expect(await watch.code == .timeoutFirstChunk)
    }

    @Test func eachChunkResetsTheIdleLimit() async throws {
        let clock = TestClock()
        let watch = Watch(CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock))
        watch.watchdog.connected()
        watch.watchdog.firstEvent()
        for _ in 0..<3 {
            await clock.advance(by: .seconds(15))
            watch.watchdog.bodyChunk()
        }
        await clock.advance(by: .seconds(29))  // 74 s in all would be past total (60 s)...
        #expect(await watch.code == .timeoutTotal, "...so the total limit fires first, at 60 s")
    }

    @Test func idleGap() async throws {
        let clock = TestClock()
        let watch = Watch(CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock))
        watch.watchdog.connected()
        watch.watchdog.firstEvent()
        await clock.advance(by: .seconds(20))
        watch.watchdog.bodyChunk()
        await clock.advance(by: .seconds(29))  // 49 s: 29 s after the last chunk
        #expect(!watch.hasEnded)
        await clock.advance(by: .seconds(1))
        #expect(await watch.code == .timeoutIdle)
        #expect(watch.watchdog.currentPhase == .streaming)
    }

    @Test func nonStreamingCallsAreBoundByTotalOnly() async throws {
        let clock = TestClock()
        let watch = Watch(CallWatchdog(timeouts: Self.timeouts, streaming: false, clock: clock))
        watch.watchdog.connected()
        #expect(watch.watchdog.currentPhase == .awaitingWholeBody)
        await clock.advance(by: .seconds(59))
        #expect(!watch.hasEnded)
        await clock.advance(by: .seconds(1))
        #expect(await watch.code == .timeoutTotal)
    }

    @Test func cancellationEndsTheWatchQuietly() async throws {
        let clock = TestClock()
        let watch = Watch(CallWatchdog(timeouts: Self.timeouts, streaming: true, clock: clock))
        watch.task.cancel()
        #expect(await watch.code == nil)
    }
}
