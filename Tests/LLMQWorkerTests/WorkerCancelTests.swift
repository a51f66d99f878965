import LLMQHarness
import Foundation
import LLMQCore
import LLMQKafka
import LLMQMockLLM
import LLMQTestSupport
import LLMQWorker
import LLMQTesting
import Testing

/// Cancel requests on the control topic (issue 13's worker side), against the mock cluster and the
/// stand-in over real sockets.
@Suite("Worker: cancel requests", .serialized)
struct WorkerCancelTests {
    @Test("a running job is cancelled at once: abort 'cancelled', a cancelled result, no dead letter, the call closed")
    func cancelRunningJob() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 1, mockConfiguration: MockLLMConfiguration(port: 0, words: 40, gap: .milliseconds(150)))
        try await bed.enqueue(id: "slow")
        try await bed.enqueue(id: "after")
        let worker = InProcessWorker(try bed.configuration(concurrency: 1))
        try await bed.chunks.waitFor("the slow job streams") { messages in
            messages.compactMap { ChunkEvent.decode($0.value) }.filter { $0.jobID == "slow" && $0.typeName == "delta" }.count >= 2
        }
        try await bed.cancel(id: "slow")
        let results = try await bed.waitForResults(["slow", "after"], timeout: .seconds(60))
        let cancelled = try #require(results["slow"]?.first)
        #expect(results["slow"]?.count == 1)
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.error?.kind == "cancelled")
        #expect(cancelled.attempts == 1)
        #expect(results["after"]?.first?.status == .succeeded, "the partition moved on")
        let stream = try #require(bed.streams.values.first { $0.first?.jobID == "slow" })
        let last = try #require(stream.max { $0.seq < $1.seq })
        #expect(last.kind == .abort(reason: "cancelled", retrying: false))
        try await waitUntil("the provider's stream is closed") { bed.mock.stats.activeStreams == 0 }
        try await worker.stop()
        #expect(bed.deadLetters.messages.isEmpty, "a cancelled job is no dead letter")
        #expect(bed.mock.stats.requests == 2, "no retry of the cancelled call")
        await bed.close()
    }

    @Test("a job cancelled long before a worker reaches it gets its result without a provider call")
    func cancelQueuedJob() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 1, mockConfiguration: MockLLMConfiguration(port: 0, words: 5))
        try await bed.cancel(id: "backlog-7")
        let ids = (0..<10).map { "backlog-\($0)" }
        for id in ids { try await bed.enqueue(id: id) }
        let worker = InProcessWorker(try bed.configuration(concurrency: 1))
        let results = try await bed.waitForResults(ids, timeout: .seconds(60))
        try await worker.stop()
        #expect(results["backlog-7"]?.first?.status == .cancelled)
        #expect(results["backlog-7"]?.first?.attempts == 0)
        for id in ids where id != "backlog-7" { #expect(results[id]?.first?.status == .succeeded, "\(id)") }
        #expect(bed.mock.stats.requests == 9, "no call for the cancelled job")
        #expect(!bed.streams.values.contains { $0.first?.jobID == "backlog-7" }, "no stream for it either")
        await bed.close()
    }
}
