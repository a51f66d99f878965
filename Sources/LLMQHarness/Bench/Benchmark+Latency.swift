import Foundation
import Histogram
import LLMQTesting

extension Benchmark {
    /// Scenario 3: the stand-in paced at a fixed total rate (streams × one event per gap), every
    /// delta stamped with its write time; latency = stamp → a bench consumer of the chunks topic.
    func runLatency() async throws -> BenchRow {
        let gap = options.latencyGapMs
        let streams = max(1, options.rate * gap / 1000)
        let jobs = streams * options.latencyWaves
        // A random first-event delay within one gap spreads the streams' phases, so the offered load is
        // a steady rate rather than bursts of every stream at once.
        let run = try await stampedRun(
            standInArguments: ["--words", "\(options.latencyWords)", "--gap-ms", "\(gap)", "--stamp"],
            jobs: jobs, concurrency: streams, extraSettings: [],
            directive: { _ in "delay_ms=\(Int.random(in: 0..<max(1, gap)))" })
        var row = BenchRow(scenario: .latency, variant: "\(streams) streams × 1 event / \(gap) ms")
        row.add("offered rate", Double(streams * 1000 / max(1, gap)), "events/s")
        row.add("jobs", Double(jobs))
        row.add("results succeeded", Double(run.results.succeeded))
        addStampedFigures(run, to: &row)
        row.target("forward latency p99", measured: Double(run.chunks.latency.valueAtPercentile(99)) / 1000, limit: 10, unit: "ms")
        row.notes.append("latency = the stand-in writing a delta (its --stamp) → that chunk event arriving at a bench consumer of llmq.chunks (fetch.wait.max.ms=1), after a one-job warm-up; an upper bound of stand-in → broker acknowledgement, since it adds the consumer's fetch. Split at the chunk event's timestamp (the worker's produce call, whole milliseconds): stamp → produce is the worker's part")
        progress("latency: p50 \(ms(run.chunks.latency.valueAtPercentile(50))) ms, p99 \(ms(run.chunks.latency.valueAtPercentile(99))) ms")
        return row
    }

    /// Scenario 4: many concurrent slow streams on one worker; RSS and latency.
    func runManyStreams() async throws -> BenchRow {
        let streams = options.streams
        let words = options.slowWords
        let run = try await stampedRun(
            standInArguments: ["--stamp"], jobs: streams, concurrency: streams,
            // Slow streams: give the calls room instead of letting a busy machine turn them into retries.
            // Adaptive concurrency off: its slow start (8, doubling per round of 45-s calls) would take
            // minutes to let every stream open, and the stand-in here has no limits to find.
            extraSettings: ["timeout.first_chunk_ms=120000", "timeout.idle_ms=120000", "timeout.total_ms=900000",
                            "provider.adaptive_concurrency=false"],
            directive: { _ in
                let gap = Int.random(in: self.options.slowGapMs)
                return "words=\(words) gap_ms=\(gap)"
            })
        let offered = Double(streams) * 1000 / Double(options.slowGapMs.lowerBound + options.slowGapMs.upperBound) * 2
        var row = BenchRow(scenario: .streams, variant: "\(streams) streams, \(words) deltas each, \(options.slowGapMs.lowerBound)–\(options.slowGapMs.upperBound) ms apart")
        row.add("streams (jobs)", Double(streams))
        row.add("results succeeded", Double(run.results.succeeded))
        let peakOpen = TopicTally.peakOpen(run.chunks.spans)
        row.add("peak streams open at once", Double(peakOpen))
        row.add("offered rate if all were open at once", offered, "events/s")
        addStampedFigures(run, to: &row)
        row.add("worker RSS after warm-up (idle)", Double(run.workerIdleRSS) / 1_048_576, "MiB")
        row.add("worker memory per open stream ((peak − idle RSS) / peak open)",
                Double(max(0, run.workerPeakRSS - run.workerIdleRSS)) / 1024 / Double(max(1, peakOpen)), "KiB")
        // Issue 11's targets: 10,000 streams open at once within 512 MiB and p99 ≤ 50 ms; 5,000 that
        // all start at once within 256 MiB and p99 ≤ 20 ms.
        let burst = streams <= 5000
        row.target("worker peak RSS", measured: Double(run.workerPeakRSS) / 1_048_576, limit: burst ? 256 : 512, unit: "MiB")
        row.target("forward latency p99", measured: Double(run.chunks.latency.valueAtPercentile(99)) / 1000, limit: burst ? 20 : 50, unit: "ms")
        row.target("peak streams open at once", measured: Double(peakOpen), limit: Double(streams), unit: "", atLeast: true)
        row.notes.append("a stream counts as open from its first to its last chunk event seen by the bench consumer")
        progress("streams: peak RSS \(Int(Double(run.workerPeakRSS) / 1_048_576)) MiB, p99 \(ms(run.chunks.latency.valueAtPercentile(99))) ms")
        return row
    }

    struct StampedRun {
        var chunks: TopicTally.Snapshot
        var results: TopicTally.Snapshot
        var seconds: Double
        var workerCPU: Double
        var workerPeakRSS: Int
        var standInCPU: Double
        var benchCPU: Double
        var brokerCPU: Double
        /// The worker's RSS after its warm-up job, before the measured jobs.
        var workerIdleRSS: Int
    }

    /// Enqueues `jobs`, starts the chunk and result consumers, then one worker; waits for every result.
    func stampedRun(standInArguments: [String], jobs: Int, concurrency: Int, extraSettings: [String],
                    directive: (Int) -> String?) async throws -> StampedRun {
        let env = try await BenchEnvironment(chunkPartitions: options.chunkPartitions, standInArguments: standInArguments)
        var worker: LLMQProcess?
        var probe: KafkaPathProbe?
        do {
            let chunks = try TopicTally(bootstrapServers: env.bootstrapServers, topic: BenchEnvironment.chunksTopic, trackKeys: true)
            let results = try TopicTally(bootstrapServers: env.bootstrapServers, topic: BenchEnvironment.resultsTopic)
            try await chunks.waitForAssignment(partitions: env.chunkPartitions)
            try await results.waitForAssignment(partitions: 6)
            let started = try env.startWorker(env.workerSettings(concurrency: concurrency, extra: extraSettings), name: "bench-worker")
            worker = started
            // Warm-up: a worker's first chunk events wait for its idempotent producer's id and the
            // topics' metadata (most of a second here). One job first, so the measurement is steady state.
            try await env.enqueue(count: 1, idPrefix: "warm-up")
            try await results.waitFor(count: 1, timeout: .seconds(120))
            // The probe's warm-up message and its first probes land before the reset.
            let kafkaProbe = try await KafkaPathProbe.start(bootstrapServers: env.bootstrapServers, topic: BenchEnvironment.chunksTopic,
                                                            partitions: env.chunkPartitions)
            probe = kafkaProbe
            try await Task.sleep(for: .milliseconds(200))
            chunks.reset()
            results.reset()
            let idleRSS = ProcessUsage(pid: started.pid)?.rssBytes ?? 0
            let standInUsage = UsageSampler(pid: env.standIn!.pid)
            let workerUsage = UsageSampler(pid: started.pid)
            let brokerUsage = UsageSampler(pid: env.broker.pid)
            let benchCPUBefore = selfCPUSeconds()
            try await env.enqueue(count: jobs, directive: directive)
            let deadline = ContinuousClock.now + .seconds(900)
            while results.count < jobs {
                guard started.isRunning else { throw HarnessError("the worker exited: \(started.log.suffix(2000))") }
                guard ContinuousClock.now < deadline else { throw TimedOut(what: "\(jobs) results") }
                try await Task.sleep(for: .milliseconds(100))
            }
            // Let the last chunk events arrive (they precede their results, but on other partitions).
            try await Task.sleep(for: .milliseconds(300))
            let benchCPU = selfCPUSeconds() - benchCPUBefore
            await kafkaProbe.stop()
            workerUsage.sampleNow()
            standInUsage.sampleNow()
            brokerUsage.sampleNow()
            let peakRSS = ProcessUsage(pid: started.pid)?.peakRSSBytes ?? workerUsage.peakRSSBytes
            workerUsage.stop()
            standInUsage.stop()
            brokerUsage.stop()
            let chunkTally = chunks.snapshot
            let resultTally = results.snapshot
            await BenchEnvironment.stop(started)
            await chunks.close()
            await results.close()
            await env.close()
            let start = chunkTally.firstArrivalMicros
            let end = max(chunkTally.lastArrivalMicros, resultTally.lastArrivalMicros)
            return StampedRun(
                chunks: chunkTally, results: resultTally, seconds: Double(end - start) / 1_000_000,
                workerCPU: workerUsage.cpuSeconds(from: start, to: end), workerPeakRSS: peakRSS,
                standInCPU: standInUsage.cpuSeconds(from: start, to: end), benchCPU: benchCPU,
                brokerCPU: brokerUsage.cpuSeconds(from: start, to: end), workerIdleRSS: idleRSS)
        } catch {
            await probe?.stop()
            await BenchEnvironment.stop(worker)
            await env.close()
            throw error
        }
    }

    func addStampedFigures(_ run: StampedRun, to row: inout BenchRow) {
        let latency = run.chunks.latency
        row.add("llmq.chunks partitions", Double(options.chunkPartitions))
        row.add("chunk events", Double(run.chunks.count))
        row.add("stamped deltas measured", Double(latency.totalCount))
        row.add("duration (first chunk → last result)", run.seconds, "s")
        row.add("achieved rate", Double(run.chunks.count) / run.seconds, "events/s")
        row.add("latency p50", Double(latency.valueAtPercentile(50)) / 1000, "ms")
        row.add("latency p90", Double(latency.valueAtPercentile(90)) / 1000, "ms")
        row.add("latency p99", Double(latency.valueAtPercentile(99)) / 1000, "ms")
        row.add("latency p99.9", Double(latency.valueAtPercentile(99.9)) / 1000, "ms")
        row.add("latency max", Double(latency.max) / 1000, "ms")
        let probe = run.chunks.probeLatency
        if probe.totalCount > 0 {
            row.add("Kafka path alone: bench probes measured", Double(probe.totalCount))
            row.add("Kafka path alone (bench probes) p50", Double(probe.valueAtPercentile(50)) / 1000, "ms")
            row.add("Kafka path alone (bench probes) p99", Double(probe.valueAtPercentile(99)) / 1000, "ms")
        }
        row.add("stamp → produce (worker) p50", Double(run.chunks.toProduce.valueAtPercentile(50)) / 1000, "ms")
        row.add("stamp → produce (worker) p99", Double(run.chunks.toProduce.valueAtPercentile(99)) / 1000, "ms")
        row.add("produce → arrival (librdkafka, broker, consumer) p50", Double(run.chunks.produceToArrival.valueAtPercentile(50)) / 1000, "ms")
        row.add("produce → arrival (librdkafka, broker, consumer) p99", Double(run.chunks.produceToArrival.valueAtPercentile(99)) / 1000, "ms")
        let tenths = TopicTally.p99ByTenth(run.chunks.arrivals)
        if !tenths.isEmpty {
            row.notes.append("latency p99 by tenth of the run, ms: " + tenths.map { BenchReport.format(Double($0) / 1000) }.joined(separator: ", "))
            let workerTenths = TopicTally.p99ByTenth(run.chunks.producedArrivals)
            row.notes.append("stamp → produce (worker) p99 by tenth of the run, ms: " + workerTenths.map { BenchReport.format(Double($0) / 1000) }.joined(separator: ", "))
        }
        row.add("worker CPU", run.workerCPU, "s")
        row.add("worker CPU use", run.workerCPU / run.seconds * 100, "% of a core")
        row.add("worker CPU per 1,000 chunk events", run.workerCPU * 1_000_000 / Double(max(1, run.chunks.count)), "ms")
        row.add("worker peak RSS", Double(run.workerPeakRSS) / 1_048_576, "MiB")
        row.add("stand-in CPU use", run.standInCPU / run.seconds * 100, "% of a core")
        row.add("broker CPU use (llmq dev-broker)", run.brokerCPU / run.seconds * 100, "% of a core")
        row.add("bench process CPU use (consumers, probes)", run.benchCPU / run.seconds * 100, "% of a core")
    }

    private func ms(_ micros: UInt64) -> String { BenchReport.format(Double(micros) / 1000) }
}
