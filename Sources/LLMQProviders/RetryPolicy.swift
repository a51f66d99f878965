/// How many attempts, and how long to wait between them.
///
/// The wait after failed attempt n is "equal jitter" with a floor: with
/// `ceiling = min(maxBackoff, initialBackoff · 2^n)` it is uniformly random in
/// `[max(initialBackoff, ceiling / 2), ceiling]`, then raised to a `Retry-After` the provider sent.
/// So no retry comes sooner than `initialBackoff` (full jitter from 0 could retry at once and
/// hammer a provider that is already failing), the waits still spread out, and they grow until
/// `maxBackoff`. With the defaults (4 s, 10 s) the first retry waits 4–8 s, later ones 5–10 s.
/// A retry budget (`RetryRunner.run(within:)`) caps all of this, `Retry-After` included.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included. Default: 3.
    public var maxAttempts: Int
    /// The shortest wait between attempts (the floor); the first retry waits between it and twice it. Default: 4 s.
    public var initialBackoff: Duration
    /// The longest wait chosen by the backoff itself (a `Retry-After` may ask for more). Default: 10 s.
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 3, initialBackoff: Duration = .seconds(4), maxBackoff: Duration = .seconds(10)) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// 3 attempts, waits between 4 s and 10 s (the ERNIE streaming guide's defaults).
    public static let `default` = RetryPolicy()

    /// The range the jittered wait after `attempt` is drawn from (before `Retry-After`).
    /// - Parameter attempt: the attempt that just failed, from 1.
    public func backoffRange(afterAttempt attempt: Int) -> ClosedRange<Duration> {
        let ceilingSeconds = min(self.maxBackoff.seconds, self.initialBackoff.seconds * pow2(Double(max(1, attempt))))
        let ceiling = Duration.fromSeconds(max(0, ceilingSeconds))
        let floor = min(max(self.initialBackoff, ceiling / 2), ceiling)
        return floor...ceiling
    }

    /// The shortest wait this policy allows after `attempt`: the backoff floor, or a longer `Retry-After`.
    public func minimumDelay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        max(self.backoffRange(afterAttempt: attempt).lowerBound, retryAfter ?? .zero)
    }

    /// The wait after `attempt`: random in `backoffRange(afterAttempt:)`, but never below `retryAfter`.
    /// - Parameters:
    ///   - attempt: the attempt that just failed, from 1.
    ///   - random: a value in [0, 1).
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?, random: Double) -> Duration {
        let range = self.backoffRange(afterAttempt: attempt)
        let spread = (range.upperBound - range.lowerBound).seconds
        let jittered = range.lowerBound + .fromSeconds(spread * min(max(random, 0), 1))
        return max(jittered, retryAfter ?? .zero)
    }

    /// Whether a retry may follow the failed `attempt`: the error is retryable, attempts are left,
    /// and the shortest allowed wait fits in `remaining` (nil: no budget). This is exactly the
    /// decision `RetryRunner.run` makes, so a caller can tell in advance (e.g. for an `abort`
    /// event's `retrying` flag) whether the failure it is about to throw will be retried.
    public func allowsRetry(afterAttempt attempt: Int, failure: ProviderError, remaining: Duration?) -> Bool {
        if Self.isThrottle(failure), let remaining {
            return self.throttleDelay(failure, random: 0) <= remaining
        }
        guard failure.isRetryable, attempt < self.maxAttempts else { return false }
        guard let remaining else { return true }
        return self.minimumDelay(afterAttempt: attempt, retryAfter: failure.retryAfter) <= remaining
    }
}

extension RetryPolicy {
    /// Rate limiting is not failure: a 429 (or a provider's rate-limit code) and an exhausted
    /// quota are waited out, bounded only by the retry budget, and never count as an attempt.
    /// (Without a budget nothing else would bound them: then they are attempts like any other.)
    /// (The worker's `ProviderGovernor` makes the next call wait for the provider's budget.)
    public static func isThrottle(_ failure: ProviderError) -> Bool {
        failure.code == .rateLimited || failure.code == .quotaExceeded
    }

    /// The wait after a throttled call: what `Retry-After` asked, else 1–2 s (random in [0, 1) spreads it).
    public func throttleDelay(_ failure: ProviderError, random: Double) -> Duration {
        failure.retryAfter ?? .seconds(1) + .fromSeconds(min(max(random, 0), 1))
    }
}

extension Duration {
    /// Whole nanoseconds of a non-negative number of seconds (saturating).
    static func fromSeconds(_ seconds: Double) -> Duration {
        guard seconds > 0 else { return .zero }
        guard seconds < 9e9 else { return .seconds(Int64(9e9)) }
        return .nanoseconds(Int64(seconds * 1e9))
    }
}

/// 2^x without Foundation; x is small and whole.
private func pow2(_ x: Double) -> Double {
    if x >= 1023 { return .infinity }
    var result = 1.0
    var i = 0.0
    while i < x {
        result *= 2
        i += 1
    }
    return result
}
