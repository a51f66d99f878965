import AsyncHTTPClient
import Foundation
import Histogram
import LLMQCore
import LLMQKafka
import LLMQTesting
import Logging
import Synchronization

extension Benchmark {
    /// Scenario 6: many concurrent SSE clients on one gateway (a child process). The bench produces
    /// chunk events itself (no worker), each delta stamped with the wall clock just before it is
    /// produced (≈ its broker timestamp, CreateTime); latency = stamp → the event arriving at an
    /// SSE client. A bench consumer of the chunk topic measures the same stamp → Kafka consumer
    /// latency as the baseline; the gateway's added latency is the difference.
    func runGateway() async throws -> BenchRow {
        let clients = options.gatewayClients
        let jobs = max(1, options.gatewayJobs)
        let words = options.gatewayWords
        let rate = options.gatewayRate
        let environment = try await BenchEnvironment(standInArguments: nil)
        defer { Task { await environment.close() } }
        let gateway = try LLMQProcess(["gateway"] + [
            "kafka.bootstrap.servers=\(environment.bootstrapServers)", "kafka.group.id=bench-gateway", "kafka.log_level=3",
            // The embedded cluster answers an empty fetch only after fetch.wait.max.ms (a real broker: as data arrives).
            "kafka.fetch.wait.max.ms=1", "kafka.fetch.error.backoff.ms=1",
            "gateway.host=127.0.0.1", "gateway.port=0", "gateway.max_clients=\(clients + 16)", "log.level=notice",
        ].flatMap { ["--set", $0] }, name: "bench-gateway")
        defer { Task { await BenchEnvironment.stop(gateway) } }
        let port = try await Self.gatewayPort(of: gateway)
        let sampler = UsageSampler(pid: gateway.pid)
        defer { sampler.stop() }
        let baseline = try TopicTally(bootstrapServers: environment.bootstrapServers, topic: BenchEnvironment.chunksTopic)
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = clients + 16
        httpConfiguration.timeout.connect = .seconds(30)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let client = GatewayClient(baseURL: "http://127.0.0.1:\(port)", http: http)
        let tally = SSETally()
        let rssBefore = sampler.latest?.rssBytes ?? 0

        // Connect every client first: a stream is registered once its response head arrives.
        progress("gateway: connecting \(clients) SSE clients")
        var streams: [GatewayClient.EventStream] = []
        streams.reserveCapacity(clients)
        for index in 0..<clients {
            streams.append(try await client.stream("/v1/jobs/gw-\(index % jobs)/events", timeout: .seconds(600)))
        }
        let rssConnected = ProcessUsage(pid: gateway.pid)?.rssBytes ?? 0
        let readers = streams.map { stream in
            Task {
                do {
                    for try await event in stream {
                        let now = wallClockMicros()
                        if event.event == "result" { break }
                        if let stamp = TopicTally.stamp(in: Array(event.data.utf8)) { tally.record(now - stamp) }
                        tally.count()
                    }
                } catch {
                    tally.failed()
                }
            }
        }
        var quiet = Logger(label: "llmq.bench")
        quiet.logLevel = .error
        // One producer for the warm-up and the run: connected, with the topic's metadata and its
        // producer id, before the first stamped event.
        let producerConfig = KafkaConfig(["bootstrap.servers": environment.bootstrapServers, "linger.ms": "1", "log_level": "3"])
        let (started, seconds) = try await KafkaProducer.withProducer(config: producerConfig, logger: quiet) { producer in
            try await warmUp(producer: producer, baseline: baseline, client: client)
            progress("gateway: producing \(jobs) jobs × \(words + 2) chunk events at \(rate) events/s")
            let started = wallClockMicros()
            try await produceStampedJobs(producer: producer, jobs: jobs, words: words, rate: rate)
            for reader in readers { await reader.value }
            return (started, Double(wallClockMicros() - started) / 1_000_000)
        }
        sampler.sampleNow()
        let snapshot = tally.snapshot
        let kafka = baseline.snapshot.latency
        await baseline.close()
        try? await http.shutdown()

        var row = BenchRow(scenario: .gateway, variant: "\(clients) SSE clients, \(jobs) jobs × \(words) deltas, \(rate) events/s produced")
        row.add("SSE clients", Double(clients))
        row.add("events delivered to clients", Double(snapshot.events))
        row.add("clients that failed", Double(snapshot.failures))
        row.add("duration", seconds, "s")
        row.add("delivered rate", Double(snapshot.events) / seconds, "events/s")
        for p in [50.0, 99.0] {
            let sse = Double(snapshot.latency.valueAtPercentile(p)) / 1000
            let direct = Double(kafka.valueAtPercentile(p)) / 1000
            row.add("stamp → SSE client p\(Int(p))", sse, "ms")
            row.add("stamp → Kafka consumer p\(Int(p)) (baseline)", direct, "ms")
            row.add("added by the gateway p\(Int(p))", max(0, sse - direct), "ms")
        }
        row.add("stamp → SSE client max", Double(snapshot.latency.max) / 1000, "ms")
        row.add("gateway RSS before clients", Double(rssBefore) / 1_048_576, "MiB")
        row.add("gateway RSS with clients connected", Double(rssConnected) / 1_048_576, "MiB")
        row.add("gateway peak RSS", Double(sampler.peakRSSBytes) / 1_048_576, "MiB")
        let cpu = sampler.cpuSeconds(from: started, to: wallClockMicros())
        row.add("gateway CPU use", cpu / seconds * 100, "% of a core")
        row.target("added latency p99", measured: max(0, Double(snapshot.latency.valueAtPercentile(99)) - Double(kafka.valueAtPercentile(99))) / 1000,
                   limit: 5, unit: "ms")
        row.target("gateway peak RSS", measured: Double(sampler.peakRSSBytes) / 1_048_576, limit: 256, unit: "MiB")
        row.notes.append("stamp = wall clock just before the bench produces the chunk event (its CreateTime broker timestamp); the SSE clients and the baseline consumer run in the bench process, on the same machine as the gateway and the embedded broker; the gateway and the baseline fetch with fetch.wait.max.ms=1 (the mock cluster waits that long on an empty fetch)")
        progress("gateway: SSE p50 \(BenchReport.format(Double(snapshot.latency.valueAtPercentile(50)) / 1000)) ms, p99 \(BenchReport.format(Double(snapshot.latency.valueAtPercentile(99)) / 1000)) ms; Kafka baseline p99 \(BenchReport.format(Double(kafka.valueAtPercentile(99)) / 1000)) ms; peak RSS \(Int(Double(sampler.peakRSSBytes) / 1_048_576)) MiB")
        return row
    }

    /// The port `llmq gateway` logged (`gateway listening url=http://127.0.0.1:PORT/`).
    static func gatewayPort(of process: LLMQProcess) async throws -> Int {
        let marker = "http://127.0.0.1:"
        try await waitUntil("the gateway to listen", timeout: .seconds(60)) {
            guard process.isRunning else { throw HarnessError("the gateway exited: \(process.log)") }
            return process.log.contains("gateway listening")
        }
        let log = process.log
        guard let range = log.range(of: marker),
              let port = Int(log[range.upperBound...].prefix { $0.isNumber }) else {
            throw HarnessError("no port in the gateway's output: \(log)")
        }
        return port
    }

    /// Waits until the baseline consumer has joined its group and the gateway delivers events: a
    /// warm-up job's events are produced until both saw one.
    private func warmUp(producer: KafkaProducer, baseline: TopicTally, client: GatewayClient) async throws {
        let warm = try await client.stream("/v1/jobs/gw-warm-up/events")
        let seen = Task { for try await event in warm where event.event == "reset" { return true }; return false }
        try await waitUntil("the baseline consumer to join", timeout: .seconds(60)) {
            let event = ChunkEvent(jobID: "gw-warm-up", streamID: "warm-\(UInt32.random(in: 0...UInt32.max))", attempt: 1, seq: 0, kind: .start)
            try await producer.send(OutgoingMessage(topic: BenchEnvironment.chunksTopic, key: Array("gw-warm-up".utf8), value: event.encoded()))
            return baseline.snapshot.count > 0
        }
        _ = try await seen.value
    }

    /// Produces each job's stream (start, stamped deltas, end) and its result, interleaved across
    /// jobs at `rate` events per second.
    private func produceStampedJobs(producer: KafkaProducer, jobs: Int, words: Int, rate: Int) async throws {
        do {
            let deliveries = DeliveryCounter()
            let total = jobs * (words + 2)
            deliveries.willProduce(total + jobs)
            let start = ContinuousClock.now
            var produced = 0
            for wave in 0..<(words + 2) {
                for job in 0..<jobs {
                    let id = "gw-\(job)"
                    let kind: ChunkEvent.Kind = switch wave {
                    case 0: .start
                    case words + 1: .end(finishReason: "stop")
                    default: .delta("@\(wallClockMicros())|word\(wave) ")
                    }
                    let event = ChunkEvent(jobID: id, streamID: "bench-\(job)-1", attempt: 1, seq: wave, kind: kind)
                    try await producer.produce(OutgoingMessage(topic: BenchEnvironment.chunksTopic, key: Array(id.utf8), value: event.encoded()),
                                               handler: deliveries)
                    produced += 1
                    // Pace: never ahead of `rate`.
                    let due = start + .microseconds(Int64(produced) * 1_000_000 / Int64(max(1, rate)))
                    if due > .now + .milliseconds(2) { try await Task.sleep(until: due, clock: .continuous) }
                }
            }
            for job in 0..<jobs {
                let id = "gw-\(job)"
                let result = JobResult(jobID: id, status: .succeeded, text: "", streamID: "bench-\(job)-1", attempts: 1,
                                       timing: .init(queuedMs: 0, firstChunkMs: 0, totalMs: 0), source: .init(topic: "bench", partition: 0, offset: 0))
                try await producer.produce(OutgoingMessage(topic: BenchEnvironment.resultsTopic, key: Array(id.utf8), value: result.encodedForDelivery()),
                                           handler: deliveries)
            }
            try await deliveries.waitForAll()
        }
    }
}

/// What the bench's SSE clients saw, shared by their reader tasks.
private final class SSETally: Sendable {
    struct Snapshot: Sendable {
        var latency = Histogram<UInt64>.latencyMicros()
        var events = 0
        var failures = 0
    }
    private let state = Mutex(Snapshot())
    func record(_ micros: Int64) { state.withLock { _ = $0.latency.record(UInt64(max(0, micros))) } }
    func count() { state.withLock { $0.events += 1 } }
    func failed() { state.withLock { $0.failures += 1 } }
    var snapshot: Snapshot { state.withLock { $0 } }
}
