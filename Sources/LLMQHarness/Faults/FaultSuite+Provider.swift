import Foundation
import LLMQCore
import LLMQMockLLM

extension FaultSuite {
    /// Provider faults through real workers: each class ends in the right status with the right
    /// number of attempts, and no job waits past its timeouts plus backoff.
    func providerFaults(_ secrets: FaultSecrets) async throws -> PhaseReport {
        var report = PhaseReport(phase: "provider")
        let words = 10
        let perClass = options.soak ? 20 : 3
        // (name, directive, status, attempts). Rate limits and quota refusals are waited out and are
        // not attempts: a job that saw two 429s and then succeeded took one attempt (three calls).
        let openAI: [(String, String, JobResult.Status, Int)] = [
            ("429", "fail=429 retry_after=1 fail_times=2", .succeeded, 1),
            ("503", "fail=503 fail_times=1", .succeeded, 2),
            ("500-always", "fail=500", .failed, 3),
            ("cut", "cut_after=3 fail_times=1", .succeeded, 2),
            ("cut-always", "cut_after=2", .failed, 3),
            ("malformed", "malformed_after=0 fail_times=1", .succeeded, 2),
            ("malformed-always", "malformed_after=2", .failed, 3),
            ("hang-first", "hang=first fail_times=1", .succeeded, 2),
            ("hang-mid", "hang=mid fail_times=1", .succeeded, 2),
            ("hang-always", "hang=first", .failed, 3),
            ("400", "fail=400", .failed, 1),
            ("401", "fail=401", .failed, 1),
        ]
        let ernie: [(String, String, JobResult.Status, Int)] = [
            ("ernie-18", "ernie_error=18 fail_times=1", .succeeded, 1),
            ("ernie-336100", "ernie_error=336100 fail_times=1", .succeeded, 2),
            ("ernie-mid-stream", "ernie_error=336100 error_after=3 fail_times=1", .succeeded, 2),
            ("ernie-110-token", "ernie_error=110 fail_times=1", .succeeded, 1),
            ("ernie-17-quota", "ernie_error=17", .failed, 1),
            ("ernie-336003", "ernie_error=336003", .failed, 1),
        ]
        for (kind, classes) in [("openai", openAI), ("ernie", ernie)] {
            let env = try await FaultEnvironment(mock: MockLLMConfiguration(words: words, gap: .milliseconds(10),
                                                                            ernieCredentials: (secrets.apiKey, secrets.secretKey)), secrets: secrets)
            if kind == "ernie" { env.extraSettings = ["provider.kind=ernie", "provider.model=completions"] }
            var expected: [String: Expectation] = [:]
            for (name, directive, status, attempts) in classes {
                for n in 0..<perClass {
                    let id = "\(name)-\(n)"
                    try await env.enqueue(id: id, directive: directive)
                    expected[id] = Expectation(status: status, attempts: attempts, words: words, directive: directive)
                    report.faultsInjected += 1
                }
            }
            try await env.flush()
            for replica in 0..<2 { try env.startReplica(replica, concurrency: 16) }
            await env.waitForResults(Set(expected.keys), timeout: .seconds(120))
            var part = PhaseReport(phase: kind)
            await part.verify(expected, in: env)
            // Bound: every attempt within timeout.total_ms (10 s), plus backoff (≤ 1 s Retry-After here), plus slack.
            for result in env.results.messages.compactMap({ JobResult.decode($0.value) }) {
                let bound = result.attempts * 10_000 + max(0, result.attempts - 1) * 1_000 + 3_000
                part.check(result.timing.totalMs <= bound, "\(result.jobID ?? "?"): took \(result.timing.totalMs) ms, over \(bound) ms")
            }
            let statuses = Dictionary(grouping: env.results.messages.compactMap { JobResult.decode($0.value) }, by: \.status.rawValue).mapValues(\.count)
            report.notes.append("\(kind): \(statuses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); dead letters \(env.deadLetters.messages.count)")
            let failedCount = expected.values.filter { $0.status == .failed }.count
            // The dead letters are read from their own topic: wait for them as for the results
            // (a job failing last, e.g. after waiting out a quota, may have its result read first).
            _ = try? await env.deadLetters.waitFor("dead letters for \(failedCount) failed jobs", timeout: .seconds(30)) { $0.count >= failedCount }
            part.check(env.deadLetters.messages.count >= failedCount, "\(kind): \(env.deadLetters.messages.count) dead letters for \(failedCount) failed jobs")
            report.jobs += part.jobs
            report.results += part.results
            report.duplicates += part.duplicates
            report.lost += part.lost
            report.failures += part.failures.map { "\(kind): \($0)" }
            report.secretLeaks += secrets.leaks(in: await env.finish())
        }
        return report
    }
}
