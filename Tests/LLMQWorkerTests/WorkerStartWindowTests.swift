import LLMQCore
import LLMQMockLLM
import LLMQTestSupport
import LLMQWorker
import Testing

/// `provider.max_starting_calls` against the mock cluster and the stand-in: with one call in
/// set-up at a time, jobs still run side by side, and every delivery rule holds.
@Suite("Worker: calls in set-up bounded", .serialized)
struct WorkerStartWindowTests {
    @Test("a window of 1: every job succeeds, each stream in seq order with one terminal event, text as published")
    func windowOfOne() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 2, mockConfiguration: MockLLMConfiguration(port: 0, words: 8, gap: .milliseconds(20)))
        let ids = (0..<12).map { "window-\($0)" }
        for id in ids { try await bed.enqueue(id: id) }
        let worker = InProcessWorker(try bed.configuration(concurrency: 8, extra: [
            "provider.max_starting_calls=1", "provider.adaptive_concurrency=false",
        ]))
        let results = try await bed.waitForResults(ids, timeout: .seconds(120))
        try await worker.stop()

        #expect(results.values.allSatisfy { $0.allSatisfy { $0.status == .succeeded } })
        let succeeded = bed.decodedResults
        try await bed.chunks.waitFor("the chunk events of every stream") { _ in
            let streams = bed.streams
            return succeeded.allSatisfy { streams[$0.streamID ?? ""]?.count == $0.streamEvents }
        }
        for result in succeeded {
            let streamID = try #require(result.streamID)
            let events = try #require(bed.streams[streamID])
            #expect(events.map(\.seq) == Array(0..<events.count), "\(streamID): seq in order, none missing")
            let terminals = events.filter { if case .end = $0.kind { true } else if case .abort = $0.kind { true } else { false } }
            #expect(terminals.count == 1)
            #expect(try bed.streamText(streamID).get() == result.text)
        }
        await bed.close()
    }
}
