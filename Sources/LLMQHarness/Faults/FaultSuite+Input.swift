import Foundation
import LLMQCore
import LLMQMockLLM

extension FaultSuite {
    /// Bad input at volume: every payload gets exactly one `invalid` result and one byte-for-byte
    /// dead letter, no worker crashes, and each partition keeps moving (a valid job after the bad
    /// ones succeeds).
    func badInput(_ secrets: FaultSecrets) async throws -> PhaseReport {
        var report = PhaseReport(phase: "input")
        let partitions = 3
        let total = options.soak ? 100_000 : 600 * options.scale
        let maxJobBytes = 4096
        let env = try await FaultEnvironment(jobPartitions: partitions, mock: MockLLMConfiguration(words: 5), secrets: secrets)
        env.extraSettings = ["worker.max_job_bytes=\(maxJobBytes)"]
        var generator = BadJobGenerator(seed: options.seed, maxJobBytes: maxJobBytes)
        var sent: [[[UInt8]]] = Array(repeating: [], count: partitions)
        var byCategory: [String: Int] = [:]
        try env.startReplica(0, concurrency: 64)
        // In waves: the mock cluster keeps a bounded log per partition (a 10^5 backlog lost its
        // oldest messages before the worker reached them), so each wave is taken before the next.
        let wave = 5000
        for waveStart in stride(from: 0, to: total, by: wave) {
            for index in waveStart..<min(waveStart + wave, total) {
                let (category, payload) = generator.next(index: index)
                let partition = index % partitions
                try await env.enqueueRaw(payload, partition: Int32(partition))
                sent[partition].append(payload)
                byCategory[category, default: 0] += 1
            }
            try await env.flush()
            let expected = min(waveStart + wave, total)
            try? await env.deadLetters.waitFor("dead letters of the wave", timeout: .seconds(120)) { $0.count >= expected }
        }
        for partition in 0..<partitions { try await env.enqueue(id: "sentinel-\(partition)", partition: Int32(partition)) }
        try await env.flush()
        report.faultsInjected = total
        report.notes.append("payloads: " + byCategory.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        let sentinels = Set((0..<partitions).map { "sentinel-\($0)" })
        await env.waitForResults(sentinels, timeout: .seconds(options.soak ? 900 : 120))
        try? await env.deadLetters.waitFor("dead letters", timeout: .seconds(60)) { $0.count >= total }
        try? await env.results.waitFor("results", timeout: .seconds(30)) { $0.count >= total + partitions }

        let results = env.results.messages.compactMap { JobResult.decode($0.value) }
        let invalid = results.filter { $0.status == .invalid }
        let invalidSources = Set(invalid.map { "\($0.source.partition)/\($0.source.offset)" })
        report.jobs = total + partitions
        report.results = results.count
        report.duplicates = invalid.count - invalidSources.count
        report.lost = total - invalidSources.count
        report.check(invalidSources.count == total, "\(invalidSources.count) distinct invalid results for \(total) bad payloads")
        report.check(results.filter { $0.status != .invalid && !($0.jobID ?? "").hasPrefix("sentinel-") }.isEmpty, "a bad payload was not `invalid`")
        let letters = env.deadLetters.messages
        report.check(letters.count == invalid.count, "\(letters.count) dead letters for \(invalid.count) invalid results")
        var mismatched = 0
        for letter in letters {
            guard let partition = letter.headers.string("llmq.source.partition").flatMap(Int.init),
                  let offset = letter.headers.string("llmq.source.offset").flatMap(Int.init),
                  partition < partitions, offset < sent[partition].count,
                  sent[partition][offset] == letter.value else { mismatched += 1; continue }
        }
        report.check(mismatched == 0, "\(mismatched) dead letters are not their job byte for byte")
        var sentinelExpectations: [String: Expectation] = [:]
        for id in sentinels { sentinelExpectations[id] = Expectation(attempts: 1, words: 5) }
        var sentinelReport = PhaseReport(phase: "sentinels")
        await sentinelReport.verify(sentinelExpectations, in: env)
        report.failures += sentinelReport.failures
        report.lost += sentinelReport.lost
        report.check(env.replicas.allSatisfy { $0?.isRunning == true }, "the worker stopped on bad input")
        report.secretLeaks = secrets.leaks(in: await env.finish())
        return report
    }
}
