/// Runs attempts under a `RetryPolicy`, with the clock and the randomness injectable for tests.
public struct RetryRunner: Sendable {
    public var policy: RetryPolicy
    private let clock: any Clock<Duration>
    private let random: @Sendable () -> Double

    public init(
        policy: RetryPolicy,
        clock: any Clock<Duration> = ContinuousClock(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.policy = policy
        self.clock = clock
        self.random = random
    }

    /// Runs `attempt(n)` for calls n = 1...; retries on `ProviderError.isRetryable` until `maxAttempts`
    /// attempts failed, not counting throttled calls (a 429 or an exhausted quota, retried for as
    /// long as the budget allows); calls `onRetry(failedCall, error, delay)` before each wait;
    /// rethrows the last error.
    /// Non-`ProviderError`s are not retried. A cancelled wait ends with `.cancelled`.
    ///
    /// - Parameter budget: the latest a retry may start, measured on the runner's clock from the
    ///   start of `run` (e.g. the smaller of the time to the job's deadline and the total timeout);
    ///   nil for no limit. A wait that cannot start a retry within it (its floor or `Retry-After`
    ///   lies past the end) is not waited: the failure is rethrown at once, unchanged, so the caller
    ///   sees the provider's own error (and can map it to "expired" when the deadline was the limit).
    ///   A jittered wait that would overrun a budget its floor fits in is shortened to the budget.
    public func run<T: Sendable>(
        within budget: Duration? = nil,
        _ attempt: (Int) async throws -> T,
        onRetry: (Int, ProviderError, Duration) async -> Void = { _, _, _ in }
    ) async throws -> T {
        try await self.run(on: self.clock, within: budget, attempt, onRetry: onRetry)
    }

    /// `run` with the clock's concrete type opened, so instants can be compared.
    private func run<C: Clock<Duration>, T: Sendable>(
        on clock: C,
        within budget: Duration?,
        _ attempt: (Int) async throws -> T,
        onRetry: (Int, ProviderError, Duration) async -> Void
    ) async throws -> T {
        let start = clock.now
        var call = 1
        // Attempts that count against `maxAttempts`: throttled calls do not (`RetryPolicy.isThrottle`).
        var counted = 1
        while true {
            do {
                return try await attempt(call)
            } catch let failure as ProviderError {
                guard !Task.isCancelled else { throw failure }
                let now = clock.now
                let remaining = budget.map { max(.zero, $0 - start.duration(to: now)) }
                guard self.policy.allowsRetry(afterAttempt: counted, failure: failure, remaining: remaining) else { throw failure }
                let throttled = remaining != nil && RetryPolicy.isThrottle(failure)
                var delay = throttled ? self.policy.throttleDelay(failure, random: self.random())
                    : self.policy.delay(afterAttempt: counted, retryAfter: failure.retryAfter, random: self.random())
                if let remaining { delay = min(delay, remaining) }
                await onRetry(call, failure, delay)
                do {
                    // An instant fixed before onRetry returned: a test clock advanced meanwhile still ends the wait.
                    try await clock.sleep(until: now.advanced(by: delay), tolerance: nil)
                } catch {
                    throw ProviderError(code: .cancelled, message: "cancelled while waiting to retry after: \(failure.message)")
                }
                call += 1
                if !throttled { counted += 1 }
            }
        }
    }
}
