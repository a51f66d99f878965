import Foundation

extension Benchmark {
    /// Scenario 1: librdkafka alone producing the drain's number and size of chunk-event messages,
    /// in a child process (`llmq bench --role ceiling-producer`) whose CPU is measured alone.
    func runCeiling() async throws -> BenchRow {
        let model = drainChunkModel()
        let env = try await BenchEnvironment(standInArguments: nil)
        let child = try LLMQProcess([
            "bench", "--role", "ceiling-producer", "--brokers", env.bootstrapServers, "--topic", BenchEnvironment.chunksTopic,
            "--messages", "\(model.messages)", "--value-bytes", "\(model.meanValueBytes)", "--keys", "\(options.jobs)",
        ], name: "bench-ceiling")
        let status = try await child.waitForExit(timeout: .seconds(300))
        await env.close()
        guard status == 0,
              let line = child.log.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let report = try? JSONDecoder().decode(CeilingProducer.Report.self, from: Data(line.utf8))
        else { throw HarnessError("the ceiling producer failed (status \(status)): \(child.log.suffix(2000))") }

        var row = BenchRow(scenario: .ceiling, variant: "librdkafka only, no worker")
        row.add("messages", Double(report.messages))
        row.add("value size (mean)", Double(model.meanValueBytes), "B")
        row.add("keys", Double(options.jobs))
        row.add("throughput", Double(report.messages) / report.seconds, "msg/s")
        row.add("producer CPU", report.cpuSeconds, "s")
        row.add("CPU per 1,000 messages", report.cpuSeconds * 1_000_000 / Double(report.messages), "ms")
        row.notes.append("idempotent producer, acks=all, linger.ms=2 (the worker's settings); produce(_:handler:) per message; timed from the first produce to the last delivery report")
        progress("ceiling: \(BenchReport.format(Double(report.messages) / report.seconds)) msg/s")
        return row
    }
}
