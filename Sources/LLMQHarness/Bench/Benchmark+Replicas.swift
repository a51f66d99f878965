import Foundation
import LLMQKafka
import LLMQTesting

extension Benchmark {
    /// Scenario 5: 1, 2, 4… worker processes on a latency-bound load (each job waits on the stand-in),
    /// so throughput should scale with replicas. Workers settle in the group before jobs are enqueued.
    func runReplicas() async throws -> [BenchRow] {
        var rows: [BenchRow] = []
        var single: Double?
        for count in options.replicaCounts {
            var row = try await runReplicas(count)
            let throughput = row.value("throughput") ?? 0
            if count == 1 { single = throughput }
            if let single, single > 0 {
                let ratio = throughput / single
                row.add("throughput ratio to 1 replica", ratio, "×")
                if count == 4 { row.target("throughput ratio to 1 replica", measured: ratio, limit: 3.6, unit: "×", atLeast: true) }
            }
            rows.append(row)
        }
        return rows
    }

    private func runReplicas(_ count: Int) async throws -> BenchRow {
        let partitions = options.replicaPartitions
        let concurrency = 8
        let jobs = options.jobsPerReplica * count
        let env = try await BenchEnvironment(jobPartitions: partitions,
                                             standInArguments: ["--first-chunk-delay-ms", "200", "--gap-ms", "20", "--words", "20"])
        var workers: [LLMQProcess] = []
        do {
            let results = try TopicTally(bootstrapServers: env.bootstrapServers, topic: BenchEnvironment.resultsTopic)
            // Info level only for the "partitions assigned/revoked" lines that show the group has settled.
            for index in 0..<count {
                workers.append(try env.startWorker(env.workerSettings(concurrency: concurrency, logLevel: "info",
                                                                      extra: ["worker.id=bench-r\(index)"]), name: "bench-replica-\(index)"))
            }
            let settleStart = ContinuousClock.now
            try await waitUntilSettled(workers, partitions: partitions)
            let settled = ContinuousClock.now - settleStart
            try await results.waitForAssignment(partitions: 6)
            let start = wallClockMicros()
            try await env.enqueue(count: jobs, partitions: partitions)
            try await results.waitFor(count: jobs, timeout: .seconds(600))
            let tally = results.snapshot
            let cpu = workers.compactMap { ProcessUsage(pid: $0.pid)?.cpuSeconds }.reduce(0, +)
            for worker in workers { await BenchEnvironment.stop(worker) }
            await results.close()
            await env.close()
            let seconds = Double(tally.lastArrivalMicros - start) / 1_000_000

            var row = BenchRow(scenario: .replicas, variant: "\(count) worker\(count == 1 ? "" : "s")")
            row.add("workers", Double(count))
            row.add("jobs", Double(jobs))
            row.add("results succeeded", Double(tally.succeeded))
            row.add("group settled after", settled.secondsValue, "s")
            row.add("duration (enqueue → last result)", seconds, "s")
            row.add("throughput", Double(jobs) / seconds, "jobs/s")
            row.add("ideal throughput (slots / job time)", Double(count * concurrency) / 0.6, "jobs/s")
            row.add("workers' CPU (whole life)", cpu, "s")
            row.notes.append("llmq.jobs has \(partitions) partitions, jobs spread evenly over them; worker.concurrency=\(concurrency); the stand-in waits 200 ms, then sends 20 deltas 20 ms apart (about 0.6 s per job)")
            progress("replicas \(count): \(BenchReport.format(Double(jobs) / seconds)) jobs/s")
            return row
        } catch {
            for worker in workers { await BenchEnvironment.stop(worker) }
            await env.close()
            throw error
        }
    }

    /// Waits until the workers' logged assignments cover every partition exactly once, evenly, and
    /// have not changed for two seconds.
    func waitUntilSettled(_ workers: [LLMQProcess], partitions: Int, timeout: Duration = .seconds(120)) async throws {
        let even = partitions / workers.count
        var last: [Set<String>] = []
        var since = ContinuousClock.now
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for worker in workers where !worker.isRunning {
                throw HarnessError("\(worker.name) exited: \(worker.log.suffix(2000))")
            }
            let assignments = workers.map { Self.assignment(inLog: $0.log) }
            if assignments != last { last = assignments; since = .now }
            let union = assignments.reduce(into: Set<String>()) { $0.formUnion($1) }
            let balanced = assignments.allSatisfy { $0.count >= even && $0.count <= even + 1 }
            if union.count == partitions, assignments.map(\.count).reduce(0, +) == partitions, balanced,
               ContinuousClock.now - since >= .seconds(2) {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TimedOut(what: "the group to settle (\(last.map { $0.sorted() }))")
    }

    /// The partitions a worker holds according to its "partitions assigned/revoked" log lines
    /// (cooperative rebalancing: each line lists only what changed).
    static func assignment(inLog log: String) -> Set<String> {
        var held = Set<String>()
        for line in log.split(separator: "\n") {
            let assigned = line.contains("partitions assigned")
            guard assigned || line.contains("partitions revoked"),
                  let range = line.range(of: "partitions=") else { continue }
            let list = line[range.upperBound...].prefix { $0 != " " }
            for item in list.split(separator: ",") {
                if assigned { held.insert(String(item)) } else { held.remove(String(item)) }
            }
        }
        return held
    }
}
