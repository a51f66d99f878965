import ArgumentParser
import Foundation
import LLMQHarness

/// `llmq bench`: the benchmark. Each scenario runs in a fresh embedded cluster with the provider
/// stand-in and the workers as child processes; figures go to stdout and, with --output, to files.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput, CPU per chunk event, forward latency, many slow streams, replica scaling and rate-limited drains.",
        discussion: """
            Scenarios: ceiling (librdkafka alone), floor (the worker's per-event work on a bare SwiftNIO client: \
            the least CPU per chunk event for a design that reads each event from a socket), drain (a backlog through one worker, zero-latency provider; \
            also with chunk coalescing), latency (paced provider, stamp → chunk consumer), streams (many slow \
            concurrent streams on one worker), replicas (1, 2, 4 workers on a latency-bound load), gateway (many SSE \
            clients on one gateway: latency added over a Kafka consumer, RSS), ratelimit (a backlog drained by 1 and 3 \
            workers against a stand-in limited to --ratelimit-requests-per-second, with the budget keys \
            provider.requests_per_minute/tokens_per_minute set and without: completions/s as a fraction of the \
            limit, the 429 ratio from the stand-in's counters, failed jobs; a worker that refuses the keys makes its \
            row "not supported by this worker"). \
            Use a release build (`make bench`) on an otherwise idle machine. Figures are reported, never asserted.
            """
    )

    @Option(name: .customLong("scenario"), help: "A scenario to run (repeatable): ceiling, floor, drain, latency, streams, replicas, gateway, ratelimit. Default: all.")
    var scenarios: [String] = []

    @Option(help: "Drain: jobs in the backlog (default 2000).")
    var jobs: Int?

    @Option(help: "Many slow streams: concurrent streams on one worker (default 10000).")
    var streams: Int?

    @Option(name: .customLong("slow-gap-ms"), help: "Many slow streams: milliseconds between one stream's events, LO-HI (default 20-50).")
    var slowGapMs: String?

    @Option(help: "Forward latency: chunk events per second offered by the stand-in (default 30000).")
    var rate: Int?

    @Option(name: .customLong("coalesce-bytes"), help: "Drain: also run with worker.chunk_coalesce_bytes=N (default 64; 0 skips that row).")
    var coalesceBytes: Int?

    @Option(name: .customLong("chunk-partitions"), help: "Partitions of llmq.chunks in the latency and streams scenarios (default 2: the embedded broker's fetch walks a partition's whole log; the other scenarios use 12).")
    var chunkPartitions: Int?

    @Option(help: "Gateway: concurrent SSE clients on one gateway (default 1000).")
    var clients: Int?

    @Option(name: .customLong("ratelimit-jobs"), help: "Rate limit: jobs in each row's backlog (default 600; --quick 120).")
    var ratelimitJobs: Int?

    @Option(name: .customLong("ratelimit-requests-per-second"), help: "Rate limit: the stand-in's request limit; budget rows set provider.requests_per_minute to 60× it (default 20).")
    var ratelimitRequestsPerSecond: Int?

    @Option(name: .customLong("ratelimit-tokens-per-second"), help: "Rate limit: also limit tokens per second; budget rows set provider.tokens_per_minute to 60× it (default 0: off).")
    var ratelimitTokensPerSecond: Int?

    @Option(help: "Directory for bench.json, bench.txt and one SVG chart per scenario.")
    var output: String?

    @Flag(help: "Small sizes, for a smoke run.")
    var quick = false

    // The ceiling's and the floor's child processes: `llmq bench --role ceiling-producer|floor-client ...`.
    @Option(help: .hidden) var role: String?
    @Option(help: .hidden) var brokers: String?
    @Option(help: .hidden) var topic: String?
    @Option(help: .hidden) var messages: Int?
    @Option(name: .customLong("value-bytes"), help: .hidden) var valueBytes: Int?
    @Option(help: .hidden) var keys: Int?
    @Option(name: .customLong("provider-port"), help: .hidden) var providerPort: Int?
    @Option(help: .hidden) var connections: Int?

    func validate() throws {
        for name in scenarios where BenchScenario(rawValue: name) == nil {
            throw ValidationError("unknown scenario '\(name)'; one of: \(BenchScenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let ratelimitRequestsPerSecond, ratelimitRequestsPerSecond < 1 { throw ValidationError("--ratelimit-requests-per-second must be 1 or more") }
        if let ratelimitTokensPerSecond, ratelimitTokensPerSecond < 0 { throw ValidationError("--ratelimit-tokens-per-second must be 0 or more") }
        if let ratelimitJobs, ratelimitJobs < 1 { throw ValidationError("--ratelimit-jobs must be 1 or more") }
        if let slowGapMs, Self.range(slowGapMs) == nil { throw ValidationError("--slow-gap-ms takes LO-HI, e.g. 1000-2000") }
    }

    /// A scenario's child process (`--role`): measures, then prints its report as one JSON line.
    private func runChildRole(_ role: String) async throws {
        let report: any Encodable
        switch role {
        case "floor-client":
            guard let brokers, let topic, let providerPort, let jobs, let connections else {
                throw ValidationError("--role floor-client needs --brokers, --topic, --provider-port, --jobs and --connections")
            }
            report = try await FloorClient.run(brokers: brokers, topic: topic, port: providerPort, jobs: jobs, connections: connections)
        case "ceiling-producer":
            guard let brokers, let topic, let messages, let valueBytes, let keys else {
                throw ValidationError("--role ceiling-producer needs --brokers, --topic, --messages, --value-bytes and --keys")
            }
            report = try await CeilingProducer.run(brokers: brokers, topic: topic, messages: messages, valueBytes: valueBytes, keys: keys)
        default:
            throw ValidationError("unknown role '\(role)'")
        }
        print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
    }

    /// "LO-HI" (or one number) as a range of milliseconds.
    static func range(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-").map { Int($0) }
        guard parts.count == 1 || parts.count == 2, let low = parts.first ?? nil, let high = parts.last ?? nil,
              low >= 0, high >= low else { return nil }
        return low...high
    }

    func run() async throws {
        if let role {
            return try await runChildRole(role)
        }
        var options = quick ? BenchOptions.quick : BenchOptions()
        if !scenarios.isEmpty { options.scenarios = scenarios.compactMap(BenchScenario.init(rawValue:)) }
        if let jobs { options.jobs = jobs }
        if let streams { options.streams = streams }
        if let slowGapMs, let range = Self.range(slowGapMs) { options.slowGapMs = range }
        if let rate { options.rate = rate }
        if let coalesceBytes { options.coalesceBytes = coalesceBytes }
        if let chunkPartitions { options.chunkPartitions = max(1, chunkPartitions) }
        if let clients { options.gatewayClients = clients; options.gatewayJobs = max(1, clients / 2) }
        if let ratelimitJobs { options.ratelimitJobs = ratelimitJobs }
        if let ratelimitRequestsPerSecond { options.ratelimitRequestsPerSecond = ratelimitRequestsPerSecond }
        if let ratelimitTokensPerSecond { options.ratelimitTokensPerSecond = ratelimitTokensPerSecond }
        options.outputDirectory = output
        let benchmark = Benchmark(options: options) { line in
            FileHandle.standardError.write(Data("bench: \(line)\n".utf8))
        }
        let report = try await benchmark.run()
        print(report.text, terminator: "")
        if let output { print("\nwritten: \(output)/bench.json, \(output)/bench.txt, \(output)/*.svg") }
    }
}
