import Testing

@testable import LLMQHarness

/// The pure parts of the bench's `ratelimit` scenario: which keys its budget rows pass, and the
/// reason it gives when a worker refuses them at start-up.
@Suite("Bench ratelimit scenario")
struct RateLimitBenchTests {
    @Test func budgetKeysAreTheStandInLimitsPerMinute() {
        var options = BenchOptions()
        #expect(options.scenarios.contains(.ratelimit))
        #expect(Benchmark(options: options, progress: { _ in }).rateLimitBudgetKeys() == ["provider.requests_per_minute=1200"])
        options.ratelimitRequestsPerSecond = 50
        options.ratelimitTokensPerSecond = 4000
        #expect(Benchmark(options: options, progress: { _ in }).rateLimitBudgetKeys()
            == ["provider.requests_per_minute=3000", "provider.tokens_per_minute=240000"])
        #expect(BenchOptions.quick.ratelimitJobs < options.ratelimitJobs)
    }

    @Test func startupErrorNamesTheRefusedKey() {
        let log = """
            2026-11-29T19:50:39+0000 info llmq.worker: starting
            llmq: configuration error: provider.requests_per_minute: unknown key (from --set); see worker.conf for the keys
            Usage: llmq worker

            """
        #expect(Benchmark.startupError(inLog: log).hasPrefix("llmq: configuration error: provider.requests_per_minute"))
        #expect(Benchmark.startupError(inLog: "boom\nlast words\n") == "last words")
        #expect(Benchmark.startupError(inLog: "") == "(no output)")
    }
}
