import Foundation

extension Benchmark {
    /// How many times the floor client runs; the row reports the median run, as the ceiling does.
    static let floorRuns = 3

    /// Scenario `floor`: the drain's jobs streamed by `FloorClient`, a bare SwiftNIO client doing
    /// only the worker's per-event work, in a child process (`llmq bench --role floor-client`)
    /// whose CPU is measured alone; `floorRuns` times against one stand-in, reported by the median
    /// run's CPU per chunk event. The stand-in writes each event on its own, as in the plain drain,
    /// or with `oneWrite` each reply in one write, as in the drain's one-write row.
    func runFloor(oneWrite: Bool, ceiling: BenchRow?) async throws -> BenchRow {
        let env = try await BenchEnvironment(standInArguments: ["--words", "\(options.drainWords)"] + (oneWrite ? ["--one-write"] : []))
        let reports: [FloorClient.Report] = try await childReports(runs: Self.floorRuns, name: "bench-floor", what: "the floor client", [
            "bench", "--role", "floor-client", "--brokers", env.bootstrapServers, "--topic", BenchEnvironment.chunksTopic,
            "--provider-port", "\(env.standInPort)", "--jobs", "\(options.jobs)", "--connections", "\(options.drainConcurrency)",
        ], closing: env)
        func perThousand(_ report: FloorClient.Report) -> Double { report.cpuSeconds * 1_000_000 / Double(max(1, report.messages)) }
        let report = reports.sorted { perThousand($0) < perThousand($1) }[reports.count / 2]

        var row = BenchRow(scenario: .floor, variant: oneWrite ? "bare SwiftNIO client, each reply in one write" : "bare SwiftNIO client, a write per event")
        row.add("jobs", Double(report.jobs))
        row.add("chunk events", Double(report.messages))
        row.add("chunk events/s", Double(report.messages) / report.seconds)
        row.add("client CPU", report.cpuSeconds, "s")
        row.add("CPU per 1,000 chunk events", perThousand(report), "ms")
        if let ceilingCPU = ceiling?.value("CPU per 1,000 messages"), ceilingCPU > 0 {
            row.add("ceiling CPU per 1,000 messages (librdkafka alone)", ceilingCPU, "ms")
            row.add("floor CPU per chunk event ÷ librdkafka's per message", perThousand(report) / ceilingCPU, "×")
        }
        row.notes.append("the median of \(reports.count) runs by CPU per chunk event (the other figures are that run's); CPU per 1,000 chunk events in each: "
                         + reports.map { BenchReport.format(perThousand($0)) + " ms" }.joined(separator: ", "))
        row.notes.append("\(options.drainConcurrency) keep-alive HTTP/1 connections to the stand-in (\(options.drainWords) deltas a reply, \(oneWrite ? "the whole reply in one write" : "a write per event")); per body part on the event loop: SSEParser, the worker's OpenAI decoder, ChunkEventEncoder, KafkaProducer.produceNow (the worker's producer settings); no AsyncHTTPClient, job tasks, consumer, results or offsets; timed from the first request to the last delivery report")
        progress("floor\(oneWrite ? " (one write)" : ""): \(BenchReport.format(perThousand(report))) ms CPU per 1,000 chunk events")
        return row
    }
}
