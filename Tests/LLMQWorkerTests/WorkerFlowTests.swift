import Foundation
import LLMQCore
import LLMQKafka
import LLMQMockLLM
import LLMQTestSupport
import LLMQTools
import LLMQWorker
import Prometheus
import Testing

/// The worker in this process against the mock cluster and the provider stand-in, over real sockets.
@Suite("Worker: jobs to chunk events and results", .serialized)
struct WorkerFlowTests {
    @Test("many jobs through one worker: exact texts rebuilt from chunks; never more than worker.concurrency calls at once")
    func manyJobsOneWorker() async throws {
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12, gap: .milliseconds(15)))
        let ids = (0..<40).map { "many-\($0)" }
        for id in ids { try await bed.enqueue(id: id) }
        let worker = InProcessWorker(try bed.configuration(concurrency: 4))
        let results = try await bed.waitForResults(ids)
        try await worker.stop()

        for id in ids {
            let result = try #require(results[id]?.first)
            #expect(results[id]?.count == 1, "exactly one result for \(id)")
            #expect(result.status == .succeeded)
            #expect(result.text == bed.expectedText(id: id))
            #expect(result.attempts == 1)
            #expect(result.finishReason == "stop")
            #expect(result.usage != nil)
            #expect(result.provider == "mock")
            #expect(result.source.topic == WorkerTestbed.jobsTopic)
            #expect(result.timing.firstChunkMs != nil)
            let streamID = try #require(result.streamID)
            #expect(try bed.streamText(streamID).get() == result.text, "chunks of \(streamID) rebuild the text")
        }
        let stats = bed.mock.stats
        #expect(stats.maxConcurrentStreams <= 4)
        #expect(stats.maxConcurrentStreams >= 2, "jobs did run concurrently")
        #expect(stats.requests == ids.count)
        await bed.close()
    }

    @Test("a full producer queue stops reading the provider until there is room: every chunk event still goes out, in order")
    func fullProducerQueue() async throws {
        let registry = MetricsBootstrap.prometheus()
        let backpressureBefore = registry.samples.values("llmq_chunk_backpressure_total", [:]).first?.value ?? 0
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 60))
        let ids = (0..<6).map { "queue-full-\($0)" }
        for id in ids { try await bed.enqueue(id: id) }
        // Room for 4 messages in librdkafka's queue, 6 streams of 62 events that arrive at once:
        // most deltas find the queue full, and their streams wait (`DeltaBackpressure`).
        let worker = InProcessWorker(try bed.configuration(concurrency: 6, extra: ["kafka.queue.buffering.max.messages=4"]))
        let results = try await bed.waitForResults(ids)
        try await worker.stop()

        for id in ids {
            let result = try #require(results[id]?.first)
            #expect(result.status == .succeeded, "\(id): \(result.error?.message ?? "")")
            #expect(result.text == bed.expectedText(id: id, words: 60))
            #expect(result.streamEvents == 62)
            let streamID = try #require(result.streamID)
            #expect(try bed.streamText(streamID).get() == result.text, "the chunks of \(streamID) rebuild the text")
            let seqs = try #require(bed.streams[streamID]).map(\.seq).sorted()
            #expect(seqs == Array(0..<62), "\(streamID): numbered without gaps")
        }
        let backpressure = (registry.samples.values("llmq_chunk_backpressure_total", [:]).first?.value ?? 0) - backpressureBefore
        #expect(backpressure >= 1, "the queue was full at least once")
        await bed.close()
    }

    @Test("provider faults end in the right status with the right attempt count")
    func providerFaults() async throws {
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12))
        let cases: [(id: String, directive: String, status: JobResult.Status, attempts: Int)] = [
            ("rate-limited", "fail=429 retry_after=1 fail_times=2", .succeeded, 3),
            ("server-error", "fail=500 fail_times=9", .failed, 3),
            ("bad-request", "fail=400", .failed, 1),
            ("unauthorized", "fail=401", .failed, 1),
            ("cut-stream", "cut_after=3 fail_times=1", .succeeded, 2),
            // A malformed event is a broken stream (DESIGN.md): the attempt ends and a new stream retries it.
            ("malformed-once", "malformed_after=0 fail_times=1", .succeeded, 2),
            ("malformed-always", "malformed_after=2", .failed, 3),
            ("hang-first", "hang=first fail_times=1", .succeeded, 2),
            ("hang-mid", "hang=mid fail_times=1", .succeeded, 2),
            ("always-cut", "cut_after=2", .failed, 3),
        ]
        for c in cases { try await bed.enqueue(id: c.id, directive: c.directive) }
        // Timeouts short enough for the hang cases, long enough that a loaded machine's slow
        // (but not hung) stream does not time out too.
        let worker = InProcessWorker(try bed.configuration(concurrency: 16, extra: ["timeout.first_chunk_ms=3000", "timeout.idle_ms=3000"]))
        let results = try await bed.waitForResults(cases.map(\.id))
        try await worker.stop()

        for c in cases {
            let result = try #require(results[c.id]?.first)
            #expect(result.status == c.status, "\(c.id): \(result.error?.kind ?? "")")
            #expect(result.attempts == c.attempts, "\(c.id) attempts")
            let streamIDs = Set(bed.streams.filter { $0.value.first?.jobID == c.id }.keys)
            #expect(streamIDs.count == c.attempts, "\(c.id): one stream per attempt")
            if c.status == .succeeded {
                #expect(result.text == bed.expectedText(id: c.id, directive: c.directive), "\(c.id)")
                #expect(try bed.streamText(result.streamID!).get() == result.text)
                // Earlier attempts ended with abort, retrying: consumers can tell them apart.
                for streamID in streamIDs where streamID != result.streamID {
                    let last = try #require(bed.streams[streamID]?.max { $0.seq < $1.seq })
                    guard case .abort(_, let retrying) = last.kind else { Issue.record("\(streamID) should end with abort"); continue }
                    #expect(retrying)
                }
            } else {
                #expect(result.error != nil)
                #expect(result.text.isEmpty)
            }
        }
        #expect(results["bad-request"]?.first?.error?.httpStatus == 400)
        #expect(results["bad-request"]?.first?.error?.retryable == false)

        // Failed jobs are copied to the dead-letter topic with their error and source.
        let failedIDs = Set(cases.filter { $0.status == .failed }.map(\.id))
        let letters = try await bed.deadLetters.waitFor("dead letters") { $0.count >= failedIDs.count }
        #expect(Set(letters.compactMap { $0.headers.string("llmq.job_id") }) == failedIDs)
        for letter in letters {
            #expect(letter.headers.string("llmq.status") == "failed")
            #expect(letter.headers.string("llmq.source.topic") == WorkerTestbed.jobsTopic)
            #expect(letter.headers.string("llmq.error.kind")?.isEmpty == false)
        }
        await bed.close()
    }

    @Test("deadlines: a job past its deadline is expired, and one that runs out mid-call too")
    func deadlines() async throws {
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12))
        try await bed.enqueue(id: "past", extraJSON: #""deadline": "2020-01-01T00:00:00Z""#)
        let soon = ISO8601DateFormatter().string(from: Date().addingTimeInterval(4))
        try await bed.enqueue(id: "slow", directive: "gap_ms=1000", extraJSON: "\"deadline\": \"\(soon)\"")
        try await bed.enqueue(id: "fine", extraJSON: #""deadline": "2999-01-01T00:00:00.000Z", "metadata": {"team": "a", "n": 1}"#)
        let worker = InProcessWorker(try bed.configuration())
        let results = try await bed.waitForResults(["past", "slow", "fine"])
        try await worker.stop()
        #expect(results["past"]?.first?.status == .expired)
        #expect(results["past"]?.first?.attempts == 0)
        #expect(results["slow"]?.first?.status == .expired)
        #expect(results["fine"]?.first?.status == .succeeded)
        #expect(results["fine"]?.first?.metadata == .object(["team": .string("a"), "n": .number(1)]))
        #expect(bed.deadLetters.messages.isEmpty, "expired jobs are not dead letters")
        await bed.close()
    }

    @Test("a non-streaming job gives start, one delta with the whole text, end")
    func nonStreaming() async throws {
        let bed = try await WorkerTestbed(mockConfiguration: MockLLMConfiguration(port: 0, words: 12))
        try await bed.enqueue(id: "whole", stream: false)
        let worker = InProcessWorker(try bed.configuration())
        let result = try #require(try await bed.waitForResults(["whole"])["whole"]?.first)
        try await worker.stop()
        #expect(result.status == .succeeded)
        #expect(result.text == bed.expectedText(id: "whole"))
        let events = try #require(bed.streams[result.streamID!]).sorted { $0.seq < $1.seq }
        #expect(events.map(\.typeName) == ["start", "delta", "end"])
        await bed.close()
    }

    @Test("malformed jobs become invalid results and byte-for-byte dead letters; the partition moves on")
    func malformedJobs() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 1, mockConfiguration: MockLLMConfiguration(port: 0, words: 12))
        let bad: [[UInt8]] = [
            Array("not json at all".utf8),
            Array(#"{"prompt": "no id"}"#.utf8),
            Array(#"{"id": "bad-params", "prompt": "x", "params": {"temperature": "hot"}}"#.utf8),
            Array(#"{"id": "bad-role", "messages": [{"role": "wizard", "content": "x"}]}"#.utf8),
            [0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D],  // {"id":"<invalid UTF-8>"}
            Array(("{\"id\": \"huge\", \"prompt\": \"" + String(repeating: "x", count: 5000) + "\"}").utf8),
            Array((String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8),
            [],
        ]
        for payload in bad { try await bed.enqueueRaw(payload, headers: [KafkaHeader(key: "origin", string: "test")]) }
        try await bed.enqueue(id: "good-after")
        let worker = InProcessWorker(try bed.configuration(extra: ["worker.max_job_bytes=4096"]))
        try await bed.results.waitFor("all results") { $0.count >= bad.count + 1 }
        let letters = try await bed.deadLetters.waitFor("dead letters") { $0.count >= bad.count }
        try await worker.stop()

        let results = bed.decodedResults
        #expect(results.filter { $0.status == .invalid }.count == bad.count)
        #expect(results.first { $0.jobID == "good-after" }?.status == .succeeded)
        #expect(results.filter { $0.error?.kind == "too_large" }.map(\.source.offset).sorted() == [5, 6], "the oversized ones, unread")
        #expect(results.first { $0.jobID == "bad-params" }?.error?.message.contains("temperature") == true)
        #expect(results.contains { $0.jobID == nil && $0.error?.kind == "missing_id" })
        for invalid in results where invalid.status == .invalid {
            let letter = try #require(letters.first { $0.headers.string("llmq.source.offset") == "\(invalid.source.offset)" })
            #expect(letter.value == bad[Int(invalid.source.offset)], "dead letter is the job byte for byte")
            #expect(letter.headers.string("origin") == "test", "the job's own headers are kept")
            #expect(letter.headers.string("llmq.error.kind") == invalid.error?.kind)
            #expect(letter.headers.string("llmq.status") == "invalid")
        }
        await bed.close()
    }
}
