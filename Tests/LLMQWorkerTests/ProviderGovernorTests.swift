import Logging
import LLMQProviders
import Synchronization
import Testing

@testable import LLMQWorker

/// The governor with time driven by hand: sleeps return at once, advance the clock and are recorded.
@Suite("Provider governor")
struct ProviderGovernorTests {
    private func governor(_ settings: ProviderGovernor.Settings, clock: ManualClock) -> ProviderGovernor {
        ProviderGovernor(settings: settings, metrics: WorkerMetrics(), logger: Logger(label: "test"), clock: clock)
    }

    @Test("the request budget: a second's worth at once, then calls spaced at the rate; a wait past the job's limit is refused")
    func requestBudget() async throws {
        let clock = ManualClock()
        let governor = governor(.init(requestsPerMinute: 600, maxConcurrency: 64), clock: clock)
        for _ in 0..<10 { _ = try await governor.acquire(tokens: 1, within: .seconds(60)) }
        #expect(clock.sleeps.isEmpty, "10 a second: the first ten go at once")
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps == [.milliseconds(100)])
        // The next would wait 100 ms more; a job with 50 ms left gets the 429's error at once, no call.
        await #expect(throws: ProviderError.self) { _ = try await governor.acquire(tokens: 1, within: .milliseconds(50)) }
        #expect(clock.sleeps.count == 1)
        // That refused reservation was given back: the next waits 100 ms, not 200.
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps.last == .milliseconds(100))
    }

    @Test("a replica's share of the partitions is its share of the budget")
    func shareFollowsAssignment() async throws {
        let clock = ManualClock()
        let governor = governor(.init(requestsPerMinute: 1200, maxConcurrency: 64), clock: clock)
        governor.setShare(assigned: 2, total: 8) // 20/s × 1/4 = 5/s
        clock.advance(.seconds(5))
        for _ in 0..<5 { _ = try await governor.acquire(tokens: 1, within: .seconds(60)) }
        #expect(clock.sleeps.isEmpty)
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps == [.milliseconds(200)])
        governor.setShare(assigned: 0, total: 8) // none left: one partition's worth, 2.5/s
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps.last == .milliseconds(400))
    }

    @Test("tokens: estimated before the call, reconciled with the usage after it")
    func tokenBudget() async throws {
        let clock = ManualClock()
        let governor = governor(.init(tokensPerMinute: 60_000, maxConcurrency: 64), clock: clock) // 1,000 a second
        let request = ProviderRequest(messages: [.init(role: "user", content: String(repeating: "word ", count: 80))],
                                      params: .init(maxTokens: 500))
        let estimate = ProviderGovernor.estimatedTokens(request)
        #expect(estimate == 400 / 4 + 4 + 1 + 500, "prompt characters / 4, a few per message, plus max_tokens: \(estimate)")
        let first = try await governor.acquire(tokens: 600, within: .seconds(60))
        governor.finished(first, .succeeded(usedTokens: 100, firstChunk: nil)) // 500 given back
        for _ in 0..<2 { _ = try await governor.acquire(tokens: 400, within: .seconds(60)) }
        #expect(clock.sleeps.isEmpty, "900 of the 1,000 were there: \(clock.sleeps)")
        _ = try await governor.acquire(tokens: 400, within: .seconds(60))
        #expect(clock.sleeps == [.milliseconds(300)])
    }

    @Test("Retry-After and an exhausted x-ratelimit limit pause every new call of the replica")
    func replicaWidePauses() async throws {
        let clock = ManualClock()
        let governor = governor(.init(maxConcurrency: 64), clock: clock)
        governor.observe(RateLimitHeaders(status: 429, retryAfter: .seconds(2)))
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps == [.seconds(2)])
        governor.observe(RateLimitHeaders(status: 200, remainingRequests: 0, resetRequests: .milliseconds(700)))
        await #expect(throws: ProviderError.self) { _ = try await governor.acquire(tokens: 1, within: .milliseconds(500)) }
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps.last == .milliseconds(700))
        governor.observe(RateLimitHeaders(status: 200, remainingRequests: 3, resetRequests: .milliseconds(700)))
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps.count == 2, "requests left: no pause")
    }

    @Test("with no budget configured, the limits the provider states (per minute) become the shared budget")
    func learnsStatedLimits() async throws {
        let clock = ManualClock()
        let governor = governor(.init(maxConcurrency: 64), clock: clock)
        for _ in 0..<50 { _ = try await governor.acquire(tokens: 1, within: .seconds(60)) }
        #expect(clock.sleeps.isEmpty, "nothing known, nothing paced")
        governor.setShare(assigned: 1, total: 2)
        // 1,200 a minute for the account: this replica's half is 10 a second, starting from nothing
        // (the calls that told us spent what the provider's bucket held).
        governor.observe(RateLimitHeaders(status: 200, limitRequests: 1200, remainingRequests: 7, resetRequests: .milliseconds(150)))
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps == [.milliseconds(100), .milliseconds(100)])
        // The same limit stated again changes nothing; a configured budget is never replaced.
        governor.observe(RateLimitHeaders(status: 200, limitRequests: 1200, remainingRequests: 7))
        _ = try await governor.acquire(tokens: 1, within: .seconds(60))
        #expect(clock.sleeps.last == .milliseconds(100))
        let configured = self.governor(.init(requestsPerMinute: 60_000, maxConcurrency: 64), clock: clock)
        configured.observe(RateLimitHeaders(status: 200, limitRequests: 60, remainingRequests: 7))
        let before = clock.sleeps.count
        for _ in 0..<100 { _ = try await configured.acquire(tokens: 1, within: .seconds(60)) }
        #expect(clock.sleeps.count == before, "1,000 a second as configured, not the 1 a second stated")
    }

    @Test("adaptive concurrency sets the lease limit: it grows on success and falls on 429s and overload")
    func leaseLimitFollowsConcurrency() async throws {
        let clock = ManualClock()
        let governor = governor(.init(maxConcurrency: 32, initialConcurrency: 4), clock: clock)
        let limits = Limits()
        governor.onLeaseLimit { limits.append($0) }
        #expect(limits.values == [4])
        for _ in 0..<4 {
            let permit = try await governor.acquire(tokens: 1, within: .seconds(60))
            // The first chunk is the success signal; the call's end does not count it again.
            governor.firstChunkArrived(after: .milliseconds(50))
            governor.finished(permit, .succeeded(usedTokens: nil, firstChunk: .milliseconds(50)))
        }
        #expect(governor.leaseLimit == 8)
        clock.advance(.seconds(2))
        governor.finished(try await governor.acquire(tokens: 1, within: .seconds(60)), .throttled(retryAfter: nil))
        #expect(governor.leaseLimit == 6)
        clock.advance(.seconds(2))
        governor.finished(try await governor.acquire(tokens: 1, within: .seconds(60)),
                          ProviderGovernor.CallOutcome(ProviderError(code: .httpStatus, message: "busy", httpStatus: 503)))
        #expect(governor.leaseLimit == 4)
        #expect(limits.values.last == 4)
        // Fixed when adaptive concurrency is off.
        let fixed = self.governor(.init(adaptive: false, maxConcurrency: 32), clock: clock)
        fixed.finished(try await fixed.acquire(tokens: 1, within: .seconds(60)), .throttled(retryAfter: nil))
        #expect(fixed.leaseLimit == 32)
    }

    @Test("an exhausted quota holds one job and lets one call probe per interval until one succeeds")
    func quotaProbes() async throws {
        let clock = ManualClock()
        let governor = governor(.init(maxConcurrency: 16, initialConcurrency: 16, quotaProbeInterval: .seconds(30)), clock: clock)
        governor.finished(try await governor.acquire(tokens: 1, within: .seconds(60)), .quotaExhausted)
        #expect(governor.leaseLimit == 1)
        // A job with less time than the next probe calls at once rather than fail untried.
        let hurried = try await governor.acquire(tokens: 1, within: .seconds(10))
        #expect(clock.sleeps.isEmpty)
        governor.finished(hurried, .quotaExhausted)
        // One with time waits for the probe slot and is the probe.
        let probe = try await governor.acquire(tokens: 1, within: .seconds(120))
        #expect(clock.now.offset >= .seconds(30))
        governor.finished(probe, .quotaExhausted)
        #expect(governor.leaseLimit == 1)
        let second = try await governor.acquire(tokens: 1, within: .seconds(120))
        #expect(clock.now.offset >= .seconds(60))
        governor.finished(second, .succeeded(usedTokens: nil, firstChunk: nil))
        #expect(governor.leaseLimit == 16, "the quota is back: the concurrency limit again")
        let sleepsBefore = clock.sleeps.count
        _ = try await governor.acquire(tokens: 1, within: .seconds(1))
        #expect(clock.sleeps.count == sleepsBefore)
    }
}

/// Sleeps return at once after moving the time forward; each wait is recorded.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }
    private let state = Mutex<(now: Duration, sleeps: [Duration])>((.zero, []))
    var now: Instant { Instant(offset: state.withLock { $0.now }) }
    var minimumResolution: Duration { .zero }
    var sleeps: [Duration] { state.withLock { $0.sleeps } }
    func advance(_ duration: Duration) { state.withLock { $0.now += duration } }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        state.withLock {
            $0.sleeps.append(deadline.offset - $0.now)
            $0.now = max($0.now, deadline.offset)
        }
    }
}

private final class Limits: Sendable {
    private let state = Mutex<[Int]>([])
    func append(_ value: Int) { state.withLock { $0.append(value) } }
    var values: [Int] { state.withLock { $0 } }
}
