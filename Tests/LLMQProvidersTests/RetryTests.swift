import Synchronization
import Testing

@testable import LLMQProviders

/// Records the sleeps the runner asks for, without sleeping.
final class SleepRecorder: Sendable {
    private let delays = Mutex<[Duration]>([])
    var recorded: [Duration] { self.delays.withLock { $0 } }
    func sleep(_ duration: Duration) async throws { self.delays.withLock { $0.append(duration) } }
}

@Suite("Retry")
struct RetryTests {
    @Test func delayStaysWithinFullJitterBounds() {
        let policy = RetryPolicy(maxAttempts: 6, initialBackoff: .seconds(4), maxBackoff: .seconds(10))
        for attempt in 1...6 {
            let ceiling = min(Duration.seconds(10), .seconds(4) * (1 << (attempt - 1)))
            for random in [0.0, 0.25, 0.5, 0.999_999] {
                let delay = policy.delay(afterAttempt: attempt, retryAfter: nil, random: random)
                #expect(delay >= .zero && delay <= ceiling, "attempt \(attempt) random \(random): \(delay)")
            }
            #expect(policy.delay(afterAttempt: attempt, retryAfter: nil, random: 0) == .zero)
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0.5) == .seconds(2))
        #expect(policy.delay(afterAttempt: 2, retryAfter: nil, random: 0.5) == .seconds(4))
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 0.5) == .seconds(5))
    }

    @Test func retryAfterIsAFloorAndNotCapped() {
        let policy = RetryPolicy.default
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(1), random: 0) == .seconds(1))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(1), random: 0.5) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(30), random: 0.9) == .seconds(30))
    }

    @Test func retriesRetryableErrorsUpToMaxAttempts() async throws {
        let recorder = SleepRecorder()
        let runner = RetryRunner(policy: .default, sleep: recorder.sleep, random: { 0.5 })
        var attempts: [Int] = []
        var retries: [Duration] = []
        await #expect(throws: ProviderError.self) {
            try await runner.run({ attempt -> Int in
                attempts.append(attempt)
                throw ProviderError(code: .rateLimited, message: "slow down")
            }, onRetry: { _, _, delay in retries.append(delay) })
        }
        #expect(attempts == [1, 2, 3])
        #expect(recorder.recorded == [.seconds(2), .seconds(4)])
        #expect(retries == recorder.recorded)
    }

    @Test func doesNotRetryPermanentOrForeignErrors() async throws {
        struct Foreign: Error {}
        let recorder = SleepRecorder()
        let runner = RetryRunner(policy: .default, sleep: recorder.sleep, random: { 0.5 })
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
        let runner = RetryRunner(policy: .default, sleep: recorder.sleep, random: { 0 })
        let value = try await runner.run { attempt -> Int in
            if attempt < 3 { throw ProviderError(code: .streamInterrupted, message: "cut", retryAfter: .milliseconds(1500)) }
            return attempt
        }
        #expect(value == 3)
        #expect(recorder.recorded == [.milliseconds(1500), .milliseconds(1500)])
    }
}
