import Foundation
import LLMQMockLLM
import LLMQTesting
import LLMQTools

extension Benchmark {
    /// Scenario 7: a backlog drained against a rate-limited stand-in (`--requests-per-second`), by 1
    /// and by 3 workers, with the group-wide budget configured (`provider.requests_per_minute`, and
    /// `provider.tokens_per_minute` when the token limit is on) and without it (adaptive concurrency
    /// only). Reports how close completions get to the limit, how many calls the provider refused,
    /// and the jobs lost. A worker that refuses the budget keys at start-up makes its row "not
    /// supported by this worker" instead of failing the bench.
    func runRateLimit() async throws -> [BenchRow] {
        var rows: [BenchRow] = []
        for count in options.ratelimitReplicaCounts {
            for budget in [true, false] {
                do {
                    rows.append(try await runRateLimit(replicas: count, budget: budget))
                } catch {
                    var row = BenchRow(scenario: .ratelimit, variant: Self.rateLimitVariant(count, budget: budget))
                    row.notes.append("did not complete: \(error)")
                    rows.append(row)
                    progress("ratelimit \(row.variant) did not complete: \(error)")
                }
            }
        }
        return rows
    }

    static func rateLimitVariant(_ count: Int, budget: Bool) -> String {
        "\(count) worker\(count == 1 ? "" : "s"), " + (budget ? "budget configured" : "no budget")
    }

    /// The worker keys of the budget rows: the stand-in's limits per minute.
    func rateLimitBudgetKeys() -> [String] {
        var keys = ["provider.requests_per_minute=\(options.ratelimitRequestsPerSecond * 60)"]
        if options.ratelimitTokensPerSecond > 0 { keys.append("provider.tokens_per_minute=\(options.ratelimitTokensPerSecond * 60)") }
        return keys
    }

    private func runRateLimit(replicas count: Int, budget: Bool) async throws -> BenchRow {
        let partitions = 6
        let jobs = options.ratelimitJobs
        let rps = options.ratelimitRequestsPerSecond
        let concurrency = options.ratelimitConcurrency
        let words = 20
        var standInArguments = ["--requests-per-second", "\(rps)", "--first-chunk-delay-ms", "100", "--gap-ms", "10", "--words", "\(words)"]
        if options.ratelimitTokensPerSecond > 0 { standInArguments += ["--tokens-per-second", "\(options.ratelimitTokensPerSecond)"] }
        let budgetKeys = budget ? rateLimitBudgetKeys() : []
        var row = BenchRow(scenario: .ratelimit, variant: Self.rateLimitVariant(count, budget: budget))
        let env = try await BenchEnvironment(jobPartitions: partitions, standInArguments: standInArguments)
        var workers: [LLMQProcess] = []
        do {
            let results = try TopicTally(bootstrapServers: env.bootstrapServers, topic: BenchEnvironment.resultsTopic)
            let deadLetters = try TopicTally(bootstrapServers: env.bootstrapServers, topic: BenchEnvironment.deadLetterTopic)
            // Info level only for the "partitions assigned/revoked" lines that show the group has settled.
            for index in 0..<count {
                let settings = env.workerSettings(concurrency: concurrency, logLevel: "info", extra: ["worker.id=bench-rl\(index)"] + budgetKeys)
                workers.append(try env.startWorker(settings, name: "bench-ratelimit-\(index)"))
            }
            let settleStart = ContinuousClock.now
            do {
                try await waitUntilSettled(workers, partitions: partitions)
            } catch {
                guard let exited = workers.first(where: { !$0.isRunning }) else { throw error }
                // A worker without the governance keys stops at start-up naming the key.
                let reason = Self.startupError(inLog: exited.log)
                row.notes.append("not supported by this worker: \(exited.name) exited at start-up: \(reason)")
                row.notes.append("worker keys of this row: \(budgetKeys.joined(separator: " "))")
                progress("ratelimit \(row.variant): not supported by this worker (\(reason))")
                for worker in workers { await BenchEnvironment.stop(worker) }
                await results.close()
                await deadLetters.close()
                await env.close()
                return row
            }
            let settled = ContinuousClock.now - settleStart
            try await results.waitForAssignment(partitions: 6)
            try await deadLetters.waitForAssignment(partitions: 1)
            let start = wallClockMicros()
            try await env.enqueue(count: jobs, partitions: partitions)
            // Four times the ideal drain time, and at least two minutes: a slow row is reported, not an error.
            let timeout = Duration.seconds(max(120, 4 * jobs / max(1, rps)))
            var timedOut = false
            do {
                try await results.waitFor(count: jobs, timeout: timeout)
            } catch is TimedOut {
                timedOut = true
            }
            let tally = results.snapshot
            let failed = tally.count - tally.succeeded
            // Dead letters are produced before their result; give stragglers a moment anyway.
            try? await waitUntil("the dead letters of \(failed) failed results", timeout: .seconds(5)) { deadLetters.count >= failed }
            let stats = try await Self.standInStats(port: env.standInPort)
            for worker in workers { await BenchEnvironment.stop(worker) }
            let deadLetterCount = deadLetters.count
            await results.close()
            await deadLetters.close()
            await env.close()

            let seconds = Double((tally.count > 0 ? tally.lastArrivalMicros : wallClockMicros()) - start) / 1_000_000
            let completions = Double(tally.succeeded) / seconds
            // The stand-in charges a call its prompt's words plus its reply's words (no max_tokens in bench jobs).
            let tokensPerCall = BenchEnvironment.prompt(id: "bench-0", directive: nil).split(separator: " ").count + words
            let tps = options.ratelimitTokensPerSecond
            let limit = tps > 0 ? min(Double(rps), Double(tps) / Double(tokensPerCall)) : Double(rps)
            row.add("workers", Double(count))
            row.add("jobs", Double(jobs))
            row.add("provider limit", Double(rps), "requests/s")
            if tps > 0 {
                row.add("provider token limit", Double(tps), "tokens/s")
                row.add("tokens per call", Double(tokensPerCall))
                row.add("limit in jobs/s (the tighter of the two)", limit, "jobs/s")
            }
            row.add("results succeeded", Double(tally.succeeded))
            row.add("results failed (not succeeded)", Double(failed))
            row.add("dead letters", Double(deadLetterCount))
            row.add("wall time (enqueue → last result)", seconds, "s")
            row.add("completions/s", completions, "jobs/s")
            row.add("completions/s as a fraction of the limit", completions / limit)
            row.add("provider calls", Double(stats.requests))
            row.add("throttled calls (429)", Double(stats.throttled))
            row.add("429 ratio (throttled / all calls)", stats.requests == 0 ? 0 : Double(stats.throttled) / Double(stats.requests))
            row.add("calls per job", Double(stats.requests) / Double(jobs))
            row.add("group settled after", settled.secondsValue, "s")
            if timedOut {
                row.notes.append("timed out after \(timeout) with \(tally.count) of \(jobs) results; figures are of what arrived")
            }
            row.notes.append(
                "stand-in: \(rps) requests/s for all callers (token bucket of one second's worth)"
                    + (options.ratelimitTokensPerSecond > 0 ? ", \(options.ratelimitTokensPerSecond) tokens/s" : "")
                    + "; 100 ms to the first delta, then 20 deltas 10 ms apart; llmq.jobs has \(partitions) partitions; worker.concurrency=\(concurrency); "
                    + (budget ? "worker keys: \(budgetKeys.joined(separator: " "))" : "no budget keys (adaptive concurrency only)")
                    + "; retry.max_attempts=3, backoff 10–50 ms (never sooner than Retry-After)"
            )
            progress("ratelimit \(row.variant): \(BenchReport.format(completions)) jobs/s (limit \(BenchReport.format(limit))), 429 ratio \(BenchReport.format(stats.requests == 0 ? 0 : Double(stats.throttled) / Double(stats.requests))), \(failed) failed")
            return row
        } catch {
            for worker in workers { await BenchEnvironment.stop(worker) }
            await env.close()
            throw error
        }
    }

    /// The stand-in's counters (`GET /mock/stats`).
    static func standInStats(port: Int) async throws -> MockLLMStats {
        let text = try await httpGetText("http://127.0.0.1:\(port)/mock/stats")
        return try JSONDecoder().decode(MockLLMStats.self, from: Data(text.utf8))
    }

    /// The line of a worker's log that says why it stopped at start-up (the last line naming a
    /// configuration problem, else the last line).
    static func startupError(inLog log: String) -> String {
        let lines = log.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let line = lines.last { $0.contains("requests_per_minute") || $0.contains("tokens_per_minute") || $0.lowercased().contains("unknown") }
            ?? lines.last ?? "(no output)"
        return String(line.prefix(300))
    }
}
