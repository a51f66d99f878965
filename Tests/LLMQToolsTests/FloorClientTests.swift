import LLMQCore
@testable import LLMQHarness
import LLMQMockLLM
import LLMQTestSupport
import Testing

/// The bench's floor client (issue 11): it must do the worker's per-event work for real, or the
/// floor it reports is no floor. Against the mock cluster and the stand-in over real sockets.
@Suite("Bench floor client", .serialized)
struct FloorClientTests {
    @Test("every delta of every job becomes a numbered chunk event keyed by its job, and the report counts them")
    func producesTheWorkersChunkEvents() async throws {
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12))
        do {
            let jobs = 7
            // More connections than needed would idle; fewer than jobs makes each one run several requests in turn.
            let report = try await FloorClient.run(brokers: bed.cluster.bootstrapServers, topic: WorkerTestbed.chunksTopic,
                                                   port: bed.mockPort, jobs: jobs, connections: 3)
            #expect(report.jobs == jobs)
            #expect(report.messages == jobs * 12)
            #expect(report.cpuSeconds > 0)
            #expect(report.seconds > 0)

            // The warm-up message is not a chunk event; the rest are, one per delta.
            let messages = try await bed.chunks.waitFor("the floor's chunk events") { $0.count >= jobs * 12 + 1 }
            let events = messages.compactMap { message in ChunkEvent.decode(message.value).map { (key: message.key, event: $0) } }
            #expect(events.count == jobs * 12)
            for job in 0..<jobs {
                let id = "bench-\(job)"
                let mine = events.filter { $0.event.jobID == id }
                #expect(mine.allSatisfy { $0.key == Array(id.utf8) })
                #expect(mine.map { $0.event.seq } == Array(0..<12))
                let text = mine.map { event -> String in
                    if case .delta(let piece) = event.event.kind { return piece }
                    return ""
                }.joined()
                #expect(text == MockReply.pieces(for: "floor job \(job)", words: 12).joined())
            }
        } catch {
            await bed.close()
            throw error
        }
        await bed.close()
    }

    @Test("a stand-in that refuses the calls makes the run fail with the status, not hang")
    func refusedCallsFailTheRun() async throws {
        var configuration = MockLLMConfiguration(port: 0, words: 12)
        configuration.faults.failStatus = 503
        let bed = try await WorkerTestbed(mockConfiguration: configuration)
        await #expect(throws: HarnessError.self) {
            _ = try await FloorClient.run(brokers: bed.cluster.bootstrapServers, topic: WorkerTestbed.chunksTopic,
                                          port: bed.mockPort, jobs: 2, connections: 1)
        }
        await bed.close()
    }
}

/// The drain's chart sets the worker beside the floor and the ceiling, and draws the issue's
/// target only where it applies (the plain drain).
@Suite("Bench chart: floor and target bars")
struct BenchChartFloorTests {
    private func cpuBars(variant: String) throws -> [String] {
        var row = BenchRow(scenario: .drain, variant: variant)
        row.add("worker CPU per 1,000 chunk events", 6.1, "ms")
        row.add("ceiling CPU per 1,000 messages (librdkafka alone)", 0.7, "ms")
        row.add("floor CPU per 1,000 chunk events (bare NIO client)", 4.0, "ms")
        let chart = try #require(BenchChart(row: row, ceilingCPU: 0.7))
        return try #require(chart.panels.first { $0.title.hasPrefix("CPU") }).bars.map(\.label)
    }

    @Test func plainDrainHasFloorCeilingAndTarget() throws {
        #expect(try cpuBars(variant: Benchmark.plainDrainVariant)
            == ["worker / 1,000 chunk events", "bare NIO client / 1,000 chunk events", "librdkafka alone / 1,000 msgs", "target: 3 × librdkafka"])
    }

    @Test func oneWriteDrainHasNoTarget() throws {
        #expect(try cpuBars(variant: "no coalescing, each reply in one write")
            == ["worker / 1,000 chunk events", "bare NIO client / 1,000 chunk events", "librdkafka alone / 1,000 msgs"])
    }

    @Test func floorRowIsLabelledAsTheFloor() throws {
        var row = BenchRow(scenario: .floor, variant: "bare SwiftNIO client, a write per event")
        row.add("CPU per 1,000 chunk events", 4.0, "ms")
        let chart = try #require(BenchChart(row: row, ceilingCPU: 0.7))
        #expect(try #require(chart.panels.first { $0.title.hasPrefix("CPU") }).bars.map(\.label)
            == ["bare NIO client / 1,000 chunk events", "librdkafka alone / 1,000 msgs"])
    }
}
