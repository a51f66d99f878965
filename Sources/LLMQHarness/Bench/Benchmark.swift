import Foundation
import LLMQCore
import LLMQMockLLM

/// `llmq bench`: runs each scenario in a fresh embedded cluster with the provider stand-in and the
/// workers as child processes, and reports what it measured. Figures are reported, never asserted.
public struct Benchmark: Sendable {
    public let options: BenchOptions
    let progress: @Sendable (String) -> Void

    public init(options: BenchOptions, progress: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.progress = progress
    }

    public func run() async throws -> BenchReport {
        let openFiles = Self.raiseOpenFilesLimit()
        progress("open files limit: \(openFiles) (children inherit it)")
        let started = ISO8601DateFormatter().string(from: Date())
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        var rows: [BenchRow] = []
        var ceiling: BenchRow?
        /// The floor's rows by the stand-in's mode (each reply in one write or not), for the drain's matching rows.
        var floors: [Bool: BenchRow] = [:]
        for scenario in options.scenarios {
            progress("scenario \(scenario.rawValue)")
            do {
                switch scenario {
                case .ceiling:
                    let row = try await runCeiling()
                    ceiling = row
                    rows.append(row)
                case .floor:
                    for oneWrite in [false, true] {
                        let row = try await runFloor(oneWrite: oneWrite, ceiling: ceiling)
                        floors[oneWrite] = row
                        rows.append(row)
                    }
                case .drain:
                    rows.append(try await runDrain(coalesceBytes: 0, ceiling: ceiling, floor: floors[false]))
                    rows.append(try await runDrain(coalesceBytes: 0, oneWrite: true, ceiling: ceiling, floor: floors[true]))
                    if options.coalesceBytes > 0 { rows.append(try await runDrain(coalesceBytes: options.coalesceBytes, ceiling: ceiling)) }
                case .latency:
                    rows.append(try await runLatency())
                case .streams:
                    rows.append(try await runManyStreams())
                case .replicas:
                    rows.append(contentsOf: try await runReplicas())
                case .gateway:
                    rows.append(try await runGateway())
                case .ratelimit:
                    rows.append(contentsOf: try await runRateLimit())
                }
            } catch {
                var row = BenchRow(scenario: scenario, variant: "")
                row.notes.append("did not complete: \(error)")
                rows.append(row)
                progress("scenario \(scenario.rawValue) did not complete: \(error)")
            }
        }
        var machine = BenchMachine.current()
        machine.openFilesLimit = openFiles
        let report = BenchReport(startedAt: started, machine: machine, options: describeOptions(loadAverage: load), rows: rows)
        if let directory = options.outputDirectory {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try report.json.write(to: URL(fileURLWithPath: directory).appendingPathComponent("bench.json"))
            try Data(report.text.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent("bench.txt"))
            let ceilingCPU = ceiling?.value("CPU per 1,000 messages")
            for row in rows {
                guard let chart = BenchChart(row: row, ceilingCPU: ceilingCPU) else { continue }
                try Data(chart.svg.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(BenchChart.fileName(for: row)))
            }
        }
        return report
    }

    private func describeOptions(loadAverage: String) -> [String: String] {
        [
            "scenarios": options.scenarios.map(\.rawValue).joined(separator: ","),
            "jobs": "\(options.jobs)", "drain_concurrency": "\(options.drainConcurrency)", "drain_words": "\(options.drainWords)", "coalesce_bytes": "\(options.coalesceBytes)",
            "rate": "\(options.rate)", "latency_gap_ms": "\(options.latencyGapMs)", "latency_words": "\(options.latencyWords)",
            "latency_waves": "\(options.latencyWaves)", "streams": "\(options.streams)", "slow_words": "\(options.slowWords)",
            "slow_gap_ms": "\(options.slowGapMs.lowerBound)...\(options.slowGapMs.upperBound)",
            "replicas": options.replicaCounts.map(String.init).joined(separator: ","), "jobs_per_replica": "\(options.jobsPerReplica)",
            "gateway_clients": "\(options.gatewayClients)", "gateway_jobs": "\(options.gatewayJobs)",
            "gateway_words": "\(options.gatewayWords)", "gateway_rate": "\(options.gatewayRate)",
            "ratelimit_jobs": "\(options.ratelimitJobs)", "ratelimit_requests_per_second": "\(options.ratelimitRequestsPerSecond)",
            "ratelimit_tokens_per_second": "\(options.ratelimitTokensPerSecond)",
            "ratelimit_replicas": options.ratelimitReplicaCounts.map(String.init).joined(separator: ","),
            "ratelimit_concurrency": "\(options.ratelimitConcurrency)",
            "load_average_at_start": loadAverage,
        ]
    }

    /// Raises the soft open-files limit to the hard one: 10,000 streams are 10,000 sockets in the
    /// worker and as many in the stand-in, which inherit this limit.
    static func raiseOpenFilesLimit() -> Int {
        var limit = rlimit()
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(resource, &limit)
            getrlimit(resource, &limit)
        }
        return Int(limit.rlim_cur)
    }

    /// The drain's chunk events, as the worker would write them: how many, and their mean value size.
    func drainChunkModel() -> (messages: Int, meanValueBytes: Int) {
        var total = 0
        var count = 0
        for i in 0..<options.jobs {
            let id = "bench-\(i)"
            let streamID = "wabc123-\(i % 8)-\(i / 8)-\(i + 1)"
            var seq = 0
            func add(_ kind: ChunkEvent.Kind) {
                total += ChunkEvent(jobID: id, streamID: streamID, attempt: 1, seq: seq, kind: kind).encoded().count
                seq += 1
                count += 1
            }
            add(.start)
            for piece in MockReply.pieces(for: BenchEnvironment.prompt(id: id, directive: nil), words: options.drainWords) { add(.delta(piece)) }
            add(.end(finishReason: "stop"))
        }
        return (count, count == 0 ? 0 : total / count)
    }
}
