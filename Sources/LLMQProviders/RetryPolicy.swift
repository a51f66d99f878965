/// How many attempts, and how long to wait between them.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included. Default: 3.
    public var maxAttempts: Int
    /// The jitter ceiling after the first attempt; it doubles per attempt. Default: 4 s.
    public var initialBackoff: Duration
    /// The largest jitter ceiling. Default: 10 s.
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 3, initialBackoff: Duration = .seconds(4), maxBackoff: Duration = .seconds(10)) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// 3 attempts, backoff ceilings from 4 s to 10 s (the ERNIE streaming guide's defaults).
    public static let `default` = RetryPolicy()

    /// Full jitter: random in [0, min(max, initial * 2^(attempt-1))], but never below `retryAfter`
    /// (which nothing else caps: the provider knows best when it will take us again).
    /// - Parameters:
    ///   - attempt: the attempt that just failed, from 1.
    ///   - random: a value in [0, 1).
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?, random: Double) -> Duration {
        let exponent = Double(max(0, attempt - 1))
        let ceiling = min(self.maxBackoff.seconds, self.initialBackoff.seconds * pow2(exponent))
        let jittered = Duration.nanoseconds(Int64(max(0, ceiling) * min(max(random, 0), 1) * 1e9))
        if let retryAfter, retryAfter > jittered { return retryAfter }
        return jittered
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
