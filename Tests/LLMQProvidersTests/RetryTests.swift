import Clocks
import Synchronization
import Testing

@testable import LLMQProviders

/// A clock whose sleeps return at once: each advances its time and records the wait asked for.
final class SleepRecorder: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: self.offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - self.offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let state = Mutex<(now: Duration, delays: [Duration])>((.zero, []))
    var recorded: [Duration] { self.state.withLock { $0.delays } }
    var now: Instant { Instant(offset: self.state.withLock { $0.now }) }
    var minimumResolution: Duration { .zero }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        self.state.withLock {
            $0.delays.append(deadline.offset - $0.now)
            $0.now = max($0.now, deadline.offset)
        }
    }

    /// Time passing during an attempt.
    func pass(_ duration: Duration) { self.state.withLock { $0.now += duration } }
}

@Suite("Retry")
struct RetryTests {
    @Test func delayIsEqualJitterWithAFloor() {
        let policy = RetryPolicy(maxAttempts: 6, initialBackoff: .seconds(4), maxBackoff: .seconds(10))
        for attempt in 1...6 {
            let ceiling = min(Duration.seconds(10), .seconds(4) * (1 << attempt))
            let floor = max(Duration.seconds(4), ceiling / 2)
            #expect(policy.backoffRange(afterAttempt: attempt) == floor...ceiling)
            for random in [0.0, 0.25, 0.5, 0.999_999] {
                let delay = policy.delay(afterAttempt: attempt, retryAfter: nil, random: random)
                #expect(delay >= floor && delay <= ceiling, "attempt \(attempt) random \(random): \(delay)")
            }
            // Never at once: the floor is the initial backoff (full jitter from 0 could retry immediately).
            #expect(policy.delay(afterAttempt: attempt, retryAfter: nil, random: 0) >= .seconds(4))
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0) == .seconds(4))
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0.5) == .seconds(6))
        #expect(policy.delay(afterAttempt: 2, retryAfter: nil, random: 0.5) == .milliseconds(7500))
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 0.5) == .milliseconds(7500))
        let zero = RetryPolicy(maxAttempts: 3, initialBackoff: .zero, maxBackoff: .zero)
        #expect(zero.delay(afterAttempt: 1, retryAfter: nil, random: 0.7) == .zero)
    }

    @Test func retryAfterIsAFloor() {
        let policy = RetryPolicy.default
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(1), random: 0) == .seconds(4))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(5), random: 0) == .seconds(5))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(30), random: 0.9) == .seconds(30))
    }

    @Test func retriesRetryableErrorsUpToMaxAttempts() async throws {
        let recorder = SleepRecorder()
        let runner = RetryRunner(policy: .default, clock: recorder, random: { 0.5 })
        var attempts: [Int] = []
        var retries: [Duration] = []
        await #expect(throws: ProviderError.self) {
            try await runner.run({ attempt -> Int in
                attempts.append(attempt)
                throw ProviderError(code: .rateLimited, message: "slow down")
            }, onRetry: { _, _, delay in retries.append(delay) })
        }
        #expect(attempts == [1, 2, 3])
        #expect(recorder.recorded == [.seconds(6), .milliseconds(7500)])
        #expect(retries == recorder.recorded)
    }

    @Test func doesNotRetryPermanentOrForeignErrors() async throws {
        struct Foreign: Error {}
        let recorder = SleepRecorder()
        let runner = RetryRunner(policy: .default, clock: recorder, random: { 0.5 })
        var attempts = 0
        await #expect(throws: ProviderError.self) {
            try await runner.run { _ -> Int in
                attempts += 1
                throw ProviderError(code: .badRequest, message: "no")
            }
        }
        await #expect(throws: Foreign.self) {
            try await runner.run { _ -> Int in
                attempts += 1
                throw Foreign()
            }
        }
        #expect(attempts == 2)
        #expect(recorder.recorded.isEmpty)
    }

    @Test func succeedsAfterFailures() async throws {
        let recorder = SleepRecorder()
        let runner = RetryRunner(policy: .default, clock: recorder, random: { 0 })
        let value = try await runner.run { attempt -> Int in
            if attempt < 3 { throw ProviderError(code: .streamInterrupted, message: "cut", retryAfter: .milliseconds(6500)) }
            return attempt
        }
        #expect(value == 3)
        #expect(recorder.recorded == [.milliseconds(6500), .milliseconds(6500)])
    }

    /// One Retry-After header used to hold a job (and its slot) for as long as it asked.
    @Test func retryAfterPastTheBudgetFailsAtOnce() async throws {
        let recorder = SleepRecorder()
        let runner = RetryRunner(policy: .default, clock: recorder, random: { 0.5 })
        var attempts = 0
        var retried = false
        do {
            _ = try await runner.run(within: .seconds(60), { _ -> Int in
                attempts += 1
                throw ProviderError(code: .rateLimited, message: "come back tomorrow", httpStatus: 429, retryAfter: .seconds(86_400))
            }, onRetry: { _, _, _ in retried = true })
            Issue.record("expected failure")
        } catch let error as ProviderError {
            // The provider's own error, unchanged: the caller decides whether the deadline made it "expired".
            #expect(error.code == .rateLimited)
            #expect(error.httpStatus == 429)
            #expect(error.retryAfter == .seconds(86_400))
        }
        #expect(attempts == 1)
        #expect(!retried)
        #expect(recorder.recorded.isEmpty, "no wait at all")
    }

    @Test func timeSpentInAttemptsUsesUpTheBudget() async throws {
        let recorder = SleepRecorder()
        let runner = RetryRunner(policy: RetryPolicy(maxAttempts: 5), clock: recorder, random: { 0.99 })
        var attempts = 0
        await #expect(throws: ProviderError.self) {
            try await runner.run(within: .seconds(30)) { _ -> Int in
                attempts += 1
                recorder.pass(.seconds(9))
                throw ProviderError(code: .timeoutFirstChunk, message: "slow")
            }
        }
        // Attempt 1 ends at 9 s and waits ~7.96 s (range 4–8 s); attempt 2 ends at ~25.96 s, and the
        // 4.04 s left are below the second wait's floor (5 s): no third attempt, no wait.
        #expect(attempts == 2)
        #expect(recorder.recorded.count == 1)
        #expect(recorder.recorded.allSatisfy { $0 >= .seconds(4) && $0 <= .seconds(8) })
    }

    @Test func aJitteredWaitIsShortenedToTheBudget() async throws {
        let recorder = SleepRecorder()
        let runner = RetryRunner(policy: .default, clock: recorder, random: { 0.99 })
        let value = try await runner.run(within: .seconds(10)) { attempt -> Int in
            if attempt == 1 {
                recorder.pass(.seconds(5))
                throw ProviderError(code: .connection, message: "refused")
            }
            return attempt
        }
        #expect(value == 2)
        // 5 s left; the floor (4 s) fits, the jittered ~7.96 s does not: the wait ends at the budget.
        #expect(recorder.recorded == [.seconds(5)])
        #expect(RetryPolicy.default.allowsRetry(afterAttempt: 1, failure: ProviderError(code: .connection, message: ""), remaining: .seconds(5)))
        #expect(!RetryPolicy.default.allowsRetry(afterAttempt: 1, failure: ProviderError(code: .connection, message: ""), remaining: .seconds(3)))
        #expect(!RetryPolicy.default.allowsRetry(afterAttempt: 3, failure: ProviderError(code: .connection, message: ""), remaining: nil))
    }

    /// The runner really waits on its clock: nothing happens until the test clock reaches the delay.
    @Test func waitsOnTheInjectedClock() async throws {
        let clock = TestClock()
        let runner = RetryRunner(policy: .default, clock: clock, random: { 0 })
        let attempts = Mutex(0)
        let retryAnnounced = Mutex<Duration?>(nil)
        let run = Task {
            try await runner.run({ attempt -> Int in
                attempts.withLock { $0 = attempt }
                if attempt == 1 { throw ProviderError(code: .timeoutIdle, message: "quiet") }
                return attempt
            }, onRetry: { _, _, delay in retryAnnounced.withLock { $0 = delay } })
        }
        try await waitUntil { retryAnnounced.withLock { $0 } != nil }
        #expect(retryAnnounced.withLock { $0 } == .seconds(4))
        await clock.advance(by: .milliseconds(3999))
        #expect(attempts.withLock { $0 } == 1, "still waiting 1 ms before the delay ends")
        await clock.advance(by: .milliseconds(1))
        #expect(try await run.value == 2)
    }

    @Test func cancellingTheWaitEndsWithCancelled() async throws {
        let clock = TestClock()
        let runner = RetryRunner(policy: .default, clock: clock)
        let retryAnnounced = Mutex(false)
        let run = Task {
            try await runner.run({ _ -> Int in throw ProviderError(code: .timeoutIdle, message: "quiet") },
                                 onRetry: { _, _, _ in retryAnnounced.withLock { $0 = true } })
        }
        try await waitUntil { retryAnnounced.withLock { $0 } }
        run.cancel()
        do {
            _ = try await run.value
            Issue.record("expected cancellation")
        } catch let error as ProviderError {
            #expect(error.code == .cancelled)
        }
    }
}
