import Foundation

extension Benchmark {
    /// How many times the ceiling producer runs; the row reports the median run (by CPU per
    /// message). One run is short (about 0.15 s of producing for the default drain), and single runs
    /// varied 2× from one bench to the next (0.79–1.62 ms per 1,000 messages), which swung the
    /// drain's ratio as much. The runs share one topic: the producer does not fetch, so its growing
    /// log costs nothing.
    static let ceilingRuns = 3

    /// Scenario 1: librdkafka alone producing the drain's number and size of chunk-event messages,
    /// in a child process (`llmq bench --role ceiling-producer`) whose CPU is measured alone;
    /// `ceilingRuns` times, reported by the median run's CPU per message.
    func runCeiling() async throws -> BenchRow {
        let model = drainChunkModel()
        let env = try await BenchEnvironment(standInArguments: nil)
        let reports: [CeilingProducer.Report] = try await childReports(runs: Self.ceilingRuns, name: "bench-ceiling", what: "the ceiling producer", [
            "bench", "--role", "ceiling-producer", "--brokers", env.bootstrapServers, "--topic", BenchEnvironment.chunksTopic,
            "--messages", "\(model.messages)", "--value-bytes", "\(model.meanValueBytes)", "--keys", "\(options.jobs)",
        ], closing: env)
        func perThousand(_ report: CeilingProducer.Report) -> Double { report.cpuSeconds * 1_000_000 / Double(report.messages) }
        let report = reports.sorted { perThousand($0) < perThousand($1) }[reports.count / 2]

        var row = BenchRow(scenario: .ceiling, variant: "librdkafka only, no worker")
        row.add("messages", Double(report.messages))
        row.add("value size (mean)", Double(model.meanValueBytes), "B")
        row.add("keys", Double(options.jobs))
        row.add("throughput", Double(report.messages) / report.seconds, "msg/s")
        row.add("producer CPU", report.cpuSeconds, "s")
        row.add("CPU per 1,000 messages", perThousand(report), "ms")
        row.notes.append("the median of \(reports.count) runs by CPU per message (throughput and CPU are that run's); CPU per 1,000 messages in each: "
                         + reports.map { BenchReport.format(perThousand($0)) + " ms" }.joined(separator: ", "))
        row.notes.append("idempotent producer, acks=all, linger.ms=2 (the worker's settings); produce(_:handler:) per message; timed from the first produce to the last delivery report")
        progress("ceiling: \(BenchReport.format(Double(report.messages) / report.seconds)) msg/s")
        return row
    }

    /// Runs `arguments` as a child `llmq` `runs` times, one after another, and decodes the report
    /// each prints as its last JSON line; throws with the child's output when one fails. Closes
    /// `env` (the cluster and stand-in the children used) either way.
    func childReports<Report: Decodable>(runs: Int, name: String, what: String, _ arguments: [String],
                                         closing env: BenchEnvironment) async throws -> [Report] {
        var reports: [Report] = []
        do {
            for run in 1...runs {
                let child = try LLMQProcess(arguments, name: "\(name)-\(run)")
                let status = try await child.waitForExit(timeout: .seconds(300))
                guard status == 0,
                      let line = child.log.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
                      let report = try? JSONDecoder().decode(Report.self, from: Data(line.utf8))
                else {
                    throw HarnessError("\(what) failed (status \(status)): \(child.log.suffix(2000))")
                }
                reports.append(report)
            }
        } catch {
            await env.close()
            throw error
        }
        await env.close()
        return reports
    }
}
