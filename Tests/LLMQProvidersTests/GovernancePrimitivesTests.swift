import NIOHTTP1
import Synchronization
import Testing

@testable import LLMQProviders

/// The pure parts of provider governance: the shared budget, the adaptive limit, the rate-limit
/// headers, and throttled calls that do not count as attempts. No I/O; time is driven by hand.
@Suite("Provider governance primitives")
struct GovernancePrimitivesTests {
    @Test("a budget hands out one second of its rate at once, then reservations wait in arrival order")
    func budgetReservesInOrder() {
        // 1,200 a minute = 20 a second; this replica's share is a half: 10 a second.
        var budget = RateBudget(perMinute: 1200, share: 0.5, now: .zero)
        #expect(budget.perSecond == 10)
        let waits = (0..<15).map { _ in budget.reserve(1, now: .zero) }
        #expect(waits.prefix(10).allSatisfy { $0 == .zero }, "the first second's worth is there at once")
        #expect(waits[10] == .milliseconds(100) && waits[14] == .milliseconds(500), "then one every 100 ms: \(waits)")
        // After the waits have passed, the debt is paid and the level refills to capacity, no higher.
        #expect(budget.available(now: .seconds(10)) == 10)
    }

    @Test("giving back and charging more move the level; a new share rescales the rate")
    func budgetAdjustsAndRescales() {
        var budget = RateBudget(perMinute: 600_000, now: .zero) // 10,000 tokens a second
        #expect(budget.reserve(10_000, now: .zero) == .zero)
        #expect(budget.available(now: .zero) == 0)
        budget.adjust(by: 4_000, now: .zero) // the call used 6,000 of the 10,000 estimated
        #expect(budget.available(now: .zero) == 4_000)
        budget.adjust(by: -9_000, now: .zero) // another used 9,000 more than estimated
        #expect(budget.reserve(1_000, now: .zero) == .milliseconds(600))
        budget.setShare(0.25, now: .zero)
        #expect(budget.perSecond == 2_500)
        #expect(budget.capacity == 2_500)
    }

    @Test("adaptive concurrency: slow start, one decrease per push-back, then one more call per round")
    func aimd() {
        var limit = AdaptiveConcurrency(initial: 4, maximum: 64)
        for _ in 0..<4 { limit.succeeded(firstChunk: nil, now: .zero) }
        #expect(limit.limit == 8, "slow start doubles per round")
        let decreased = limit.congested(now: .seconds(1))
        #expect(decreased && limit.limit == 6)
        let again = limit.congested(now: .milliseconds(1500))
        #expect(!again, "the same push-back, within the cooldown")
        #expect(limit.limit == 6)
        for _ in 0..<6 { limit.succeeded(firstChunk: nil, now: .seconds(2)) }
        #expect(limit.limit == 6 || limit.limit == 7)
        for _ in 0..<20 { limit.succeeded(firstChunk: nil, now: .seconds(3)) }
        #expect(limit.limit >= 8 && limit.limit < 12, "additive: about one per round, \(limit.limit)")
        for second in 4..<40 { limit.congested(now: .seconds(second)) }
        #expect(limit.limit == 1, "never below the minimum")
        var capped = AdaptiveConcurrency(initial: 100, maximum: 3)
        capped.succeeded(firstChunk: nil, now: .zero)
        #expect(capped.limit == 3)
    }

    @Test("first-chunk latency far above its baseline counts as push-back")
    func latencyIsASignal() {
        var limit = AdaptiveConcurrency(initial: 16, maximum: 64)
        for i in 0..<40 { limit.succeeded(firstChunk: .milliseconds(300), now: .milliseconds(i)) }
        let before = limit.limit
        // Smoothed latency needs a few slow samples to cross 2 × 300 ms + 250 ms.
        var decreased = false
        for i in 0..<40 where !decreased {
            decreased = limit.succeeded(firstChunk: .seconds(3), now: .seconds(10 + i * 2)) && limit.limit < before
        }
        #expect(decreased && limit.limit < before, "limit \(before) -> \(limit.limit)")
    }

    @Test("OpenAI's rate-limit headers: remaining, reset durations, Retry-After; the hold-off they ask for")
    func headers() {
        var fields = HTTPHeaders()
        fields.add(name: "x-ratelimit-remaining-requests", value: "0")
        fields.add(name: "x-ratelimit-reset-requests", value: "1m30.5s")
        fields.add(name: "x-ratelimit-remaining-tokens", value: "1200")
        fields.add(name: "x-ratelimit-reset-tokens", value: "120ms")
        let head = RateLimitHeaders(status: 200, headers: fields)
        #expect(head.remainingRequests == 0 && head.remainingTokens == 1200)
        #expect(head.resetRequests == .milliseconds(90_500) && head.resetTokens == .milliseconds(120))
        #expect(head.holdOff == .milliseconds(90_500), "no requests left: hold until they reset")
        #expect(RateLimitHeaders.duration("6m0s") == .seconds(360))
        #expect(RateLimitHeaders.duration("2h3m") == .seconds(7380))
        #expect(RateLimitHeaders.duration("0.25") == .milliseconds(250))
        #expect(RateLimitHeaders.duration("soon") == nil && RateLimitHeaders.duration("5x") == nil && RateLimitHeaders.duration("5") == .seconds(5))
        var throttled = HTTPHeaders()
        throttled.add(name: "retry-after-ms", value: "750")
        #expect(RateLimitHeaders(status: 429, headers: throttled).holdOff == .milliseconds(750))
        #expect(RateLimitHeaders(status: 200, headers: throttled).holdOff == nil, "Retry-After pauses only with a 429 or 503")
        #expect(RateLimitHeaders(status: 200, headers: HTTPHeaders()).holdOff == nil)
    }

    @Test("a 429 does not use up an attempt: throttled calls are retried for as long as the budget lasts")
    func throttledCallsAreNotAttempts() async throws {
        let clock = SleepRecorder()
        let runner = RetryRunner(policy: RetryPolicy(maxAttempts: 2, initialBackoff: .seconds(4), maxBackoff: .seconds(10)),
                                 clock: clock, random: { 0 })
        let calls = CallLog()
        let value = try await runner.run(within: .seconds(60)) { call in
            calls.append(call)
            // Calls 1-5 throttled, 6 fails for real (attempt 1), 7 succeeds (attempt 2 of 2).
            if call <= 5 { throw ProviderError(code: .rateLimited, message: "slow down", retryAfter: .milliseconds(500)) }
            if call == 6 { throw ProviderError(code: .streamInterrupted, message: "cut") }
            return call
        }
        #expect(value == 7)
        #expect(calls.values == Array(1...7))
        #expect(clock.recorded.prefix(5).allSatisfy { $0 == .milliseconds(500) }, "Retry-After, not the 4 s backoff: \(clock.recorded)")
        #expect(clock.recorded.last == .seconds(4))

        // Throttled without end: the budget, not the attempt count, stops it, with the 429 itself.
        let stubborn = RetryRunner(policy: RetryPolicy(maxAttempts: 1), clock: SleepRecorder(), random: { 0 })
        let tries = CallLog()
        await #expect(throws: ProviderError.self) {
            _ = try await stubborn.run(within: .seconds(10)) { call -> Int in
                tries.append(call)
                throw ProviderError(code: .rateLimited, message: "slow down", retryAfter: .seconds(1))
            }
        }
        #expect(tries.values.count == 11, "1 s apart within 10 s: \(tries.values.count) calls")
        #expect(RetryPolicy(maxAttempts: 1).allowsRetry(afterAttempt: 1, failure: ProviderError(code: .quotaExceeded, message: "q"), remaining: .seconds(5)))
        #expect(!RetryPolicy(maxAttempts: 1).allowsRetry(afterAttempt: 1, failure: ProviderError(code: .rateLimited, message: "r", retryAfter: .seconds(9)), remaining: .seconds(5)))
    }
}

private final class CallLog: Sendable {
    private let state = Synchronization.Mutex<[Int]>([])
    func append(_ value: Int) { state.withLock { $0.append(value) } }
    var values: [Int] { state.withLock { $0 } }
}
