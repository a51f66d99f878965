import Foundation
import LLMQCore
import LLMQTesting

extension Benchmark {
    /// The plain drain row's variant: a reply written event by event, no coalescing. Issue 11's
    /// CPU target is this row's.
    static let plainDrainVariant = "no coalescing"

    /// Scenario 2: a backlog of jobs, then one worker against a zero-latency stand-in. Measures the
    /// worker's own cost per chunk event. With `coalesceBytes > 0`, the same with chunk coalescing.
    /// With `oneWrite`, the stand-in writes each reply in one write (`llmq mock-llm --one-write`), so
    /// the worker reads many events at a time: the difference to the plain row is the worker's cost
    /// per read (socket, HTTP client, body part) as against its cost per event.
    func runDrain(coalesceBytes: Int, oneWrite: Bool = false, ceiling: BenchRow?, floor: BenchRow? = nil) async throws -> BenchRow {
        let jobs = options.jobs
        let providerEvents = jobs * (options.drainWords + 2)
        let env = try await BenchEnvironment(standInArguments: ["--words", "\(options.drainWords)"] + (oneWrite ? ["--one-write"] : []))
        var worker: LLMQProcess?
        do {
            try await env.enqueue(count: jobs)
            let results = try TopicTally(bootstrapServers: env.bootstrapServers, topic: BenchEnvironment.resultsTopic, keepValues: true)
            try await results.waitForAssignment(partitions: 6)
            let standInUsage = UsageSampler(pid: env.standIn!.pid)
            let extra = coalesceBytes > 0 ? ["worker.chunk_coalesce_bytes=\(coalesceBytes)"] : []
            let started = try env.startWorker(env.workerSettings(concurrency: options.drainConcurrency, extra: extra), name: "bench-worker")
            worker = started
            let workerUsage = UsageSampler(pid: started.pid)
            try await results.waitFor(count: jobs, timeout: .seconds(600))
            workerUsage.sampleNow()
            standInUsage.sampleNow()
            let peakRSS = ProcessUsage(pid: started.pid)?.peakRSSBytes ?? workerUsage.peakRSSBytes
            workerUsage.stop()
            standInUsage.stop()
            await BenchEnvironment.stop(started)
            let resultTally = results.snapshot
            await results.close()

            // Chunk events read after the run (so reading them costs the run nothing): count and first timestamp.
            let chunks = try TopicTally(bootstrapServers: env.bootstrapServers, topic: BenchEnvironment.chunksTopic)
            if coalesceBytes == 0 {
                try? await chunks.waitFor(count: providerEvents, timeout: .seconds(120))
            } else {
                try? await waitForQuiet(chunks)
            }
            let chunkTally = chunks.snapshot
            await chunks.close()
            await env.close()

            let startMicros = chunkTally.minTimestampMs * 1000
            let endMicros = resultTally.maxTimestampMs * 1000 + 999
            let seconds = Double(endMicros - startMicros) / 1_000_000
            let cpu = workerUsage.cpuSeconds(from: startMicros, to: endMicros)
            let standInCPU = standInUsage.cpuSeconds(from: startMicros, to: endMicros)
            let events = chunkTally.count

            let variant = coalesceBytes > 0 ? "worker.chunk_coalesce_bytes=\(coalesceBytes)" : oneWrite ? "no coalescing, each reply in one write" : Self.plainDrainVariant
            var row = BenchRow(scenario: .drain, variant: variant)
            row.add("jobs", Double(jobs))
            row.add("results succeeded", Double(resultTally.succeeded))
            row.add("chunk events", Double(events))
            row.add("duration (first chunk → last result)", seconds, "s")
            row.add("jobs/s", Double(jobs) / seconds)
            row.add("chunk events/s", Double(events) / seconds)
            row.add("worker CPU", cpu, "s")
            row.add("worker CPU per 1,000 chunk events", cpu * 1_000_000 / Double(max(1, events)), "ms")
            row.add("worker CPU per job", cpu * 1000 / Double(jobs), "ms")
            row.add("worker CPU use", cpu / seconds * 100, "% of a core")
            row.add("worker peak RSS", Double(peakRSS) / 1_048_576, "MiB")
            let timings = resultTally.values.compactMap { JobResult.decode($0)?.timing }
            row.add("job time p50 (result timing.total_ms)", percentile(timings.map(\.totalMs), 50), "ms")
            row.add("job time p99", percentile(timings.map(\.totalMs), 99), "ms")
            row.add("first chunk p50 (timing.first_chunk_ms)", percentile(timings.compactMap(\.firstChunkMs), 50), "ms")
            row.add("stand-in CPU", standInCPU, "s")
            row.add("stand-in CPU use", standInCPU / seconds * 100, "% of a core")
            if let ceilingCPU = ceiling?.value("CPU per 1,000 messages") {
                row.add("ceiling CPU per 1,000 messages (librdkafka alone)", ceilingCPU, "ms")
            }
            if coalesceBytes == 0 && events < providerEvents {
                row.notes.append("only \(events) of \(providerEvents) chunk events were read back after the run; per-event figures use the count read")
            }
            if coalesceBytes == 0 {
                let perEvent = cpu * 1_000_000 / Double(max(1, events))
                if let ceilingCPU = ceiling?.value("CPU per 1,000 messages"), ceilingCPU > 0 {
                    row.add("worker CPU per chunk event ÷ librdkafka's per message", perEvent / ceilingCPU, "×")
                    // The target is the plain drain's: a reply written event by event.
                    if !oneWrite { row.target("worker CPU per chunk event ÷ librdkafka's per message", measured: perEvent / ceilingCPU, limit: 3, unit: "×") }
                } else {
                    row.notes.append("run the ceiling scenario in the same run (--scenario ceiling --scenario drain) for the ratio to librdkafka's own cost")
                }
                // `floor` is the floor's row with the stand-in in this row's mode.
                if let floorCPU = floor?.value("CPU per 1,000 chunk events"), floorCPU > 0 {
                    row.add("floor CPU per 1,000 chunk events (bare NIO client)", floorCPU, "ms")
                    row.add("worker CPU per chunk event ÷ the floor's", perEvent / floorCPU, "×")
                }
            } else {
                let perProviderEvent = cpu * 1_000_000 / Double(providerEvents)
                row.add("worker CPU per 1,000 provider events", perProviderEvent, "ms")
                row.notes.append("coalescing merges the stand-in's \(providerEvents) events into \(events) chunk events; the comparable cost is per provider event")
            }
            row.notes.append("worker.concurrency=\(options.drainConcurrency); the stand-in answers at once (\(options.drainWords) deltas, no delays, \(oneWrite ? "the whole reply in one write" : "a write per event")); CPU from /proc (10 ms ticks) over the measured window")
            progress("drain\(coalesceBytes > 0 ? " (coalesce \(coalesceBytes))" : oneWrite ? " (one write)" : ""): \(BenchReport.format(Double(events) / seconds)) events/s, \(BenchReport.format(cpu * 1_000_000 / Double(max(1, events)))) ms CPU per 1,000 events")
            return row
        } catch {
            await BenchEnvironment.stop(worker)
            await env.close()
            throw error
        }
    }

    /// Waits until a tally has messages and has received none for a second and a half.
    func waitForQuiet(_ tally: TopicTally, timeout: Duration = .seconds(120)) async throws {
        var last = -1
        var since = ContinuousClock.now
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = tally.count
            if count != last { last = count; since = .now }
            if count > 0, ContinuousClock.now - since >= .milliseconds(1500) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TimedOut(what: "the topic to go quiet")
    }
}

/// The `p`th percentile of some values (nearest rank); 0 for none.
func percentile(_ values: [Int], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return Double(sorted[min(max(0, rank), sorted.count - 1)])
}
