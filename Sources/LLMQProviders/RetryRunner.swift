/// Runs attempts under a `RetryPolicy`, with the sleep and the randomness injectable for tests.
public struct RetryRunner: Sendable {
    public var policy: RetryPolicy
    private let sleep: @Sendable (Duration) async throws -> Void
    private let random: @Sendable () -> Double

    public init(
        policy: RetryPolicy,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.policy = policy
        self.sleep = sleep
        self.random = random
    }

    /// Runs `attempt(n)` for n = 1...; retries on `ProviderError.isRetryable` until `maxAttempts`;
    /// calls `onRetry(failedAttempt, error, delay)` before each sleep; rethrows the last error.
    /// Non-`ProviderError`s are not retried. A cancelled sleep ends with `.cancelled`.
    public func run<T: Sendable>(
        _ attempt: (Int) async throws -> T,
        onRetry: (Int, ProviderError, Duration) async -> Void = { _, _, _ in }
    ) async throws -> T {
        var number = 1
        while true {
            do {
                return try await attempt(number)
            } catch let failure as ProviderError {
                guard failure.isRetryable, number < self.policy.maxAttempts, !Task.isCancelled else { throw failure }
                let delay = self.policy.delay(afterAttempt: number, retryAfter: failure.retryAfter, random: self.random())
                await onRetry(number, failure, delay)
                do {
                    try await self.sleep(delay)
                } catch {
                    throw ProviderError(code: .cancelled, message: "cancelled while waiting to retry after: \(failure.message)")
                }
                number += 1
            }
        }
    }
}
