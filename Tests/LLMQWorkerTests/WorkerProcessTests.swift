import LLMQHarness
import Foundation
import LLMQCore
import LLMQKafka
import LLMQMockLLM
import LLMQTestSupport
import LLMQTools
import LLMQWorker
import Testing

/// Real `llmq worker` processes, killed and signalled, against the mock cluster and the stand-in.
@Suite("Worker processes: replicas, kill -9, SIGTERM", .serialized)
struct WorkerProcessTests {
    @Test("two worker processes share the jobs; SIGKILL of one mid-stream loses nothing")
    func replicasAndKill() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 4, mockConfiguration: MockLLMConfiguration(port: 0, words: 12, gap: .milliseconds(50)))
        let ids = (0..<48).map { "kill-\($0)" }
        for id in ids { try await bed.enqueue(id: id) }
        let a = try LLMQProcess(workerSettings: bed.settings(concurrency: 4, extra: ["worker.id=wa"]), name: "a")
        let b = try LLMQProcess(workerSettings: bed.settings(concurrency: 4, extra: ["worker.id=wb"]), name: "b")

        // Both replicas get work, then one dies without warning while streams are open.
        try await bed.results.waitFor("results from both replicas", timeout: .seconds(60)) { messages in
            Set(messages.compactMap { JobResult.decode($0.value)?.worker }).count == 2
        }
        #expect(a.isRunning)
        a.signal(SIGKILL)
        let killedStatus = try await a.waitForExit()
        #expect(a.process.terminationReason == .uncaughtSignal && killedStatus == SIGKILL,
                "a ended with status \(killedStatus) (\(a.process.terminationReason == .exit ? "exit" : "signal")), not by SIGKILL")

        let results = try await bed.waitForResults(ids, timeout: .seconds(120))
        b.signal(SIGTERM)
        #expect(try await b.waitForExit() == 0, "\(b.log.suffix(2000))")
        var duplicates = 0
        for id in ids {
            let forJob = try #require(results[id])
            duplicates += forJob.count - 1
            if forJob.count > 1 {
                // Only A's death repeats work, and only once: A finished the job (its result is in)
                // but died before committing its offset, so B, taking over the partition, redid it.
                #expect(forJob.map(\.worker) == ["wa", "wb"], "\(id): results by \(forJob.map { $0.worker ?? "?" })")
            }
            for result in forJob {
                #expect(result.status == .succeeded, "\(id)")
                #expect(result.text == bed.expectedText(id: id), "\(id)")
                #expect(try bed.streamText(result.streamID!).get() == result.text, "\(id) chunks")
            }
        }
        // Jobs A finished after its last commit repeat (at-least-once); jobs it had in flight do not
        // (A never published their result). So the repeats are a subset of A's own results.
        let byA = ids.filter { id in results[id]?.contains { $0.worker == "wa" } == true }
        #expect(duplicates <= byA.count)
        print("replicasAndKill: \(ids.count) jobs, \(byA.count) finished by a, \(duplicates) duplicate results after SIGKILL")
        #expect(Set(bed.decodedResults.compactMap(\.worker)) == ["wa", "wb"])
        await bed.close()
    }

    @Test("SIGTERM drains in-flight jobs, exits 0 and loses nothing; secrets never leak")
    func sigtermDrains() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 2, mockConfiguration: MockLLMConfiguration(port: 0, words: 12, gap: .milliseconds(80)))
        let ids = (0..<24).map { "term-\($0)" }
        for id in ids { try await bed.enqueue(id: id) }
        try await bed.enqueue(id: "term-fails", directive: "fail=401")
        let apiKey = "sk-test-SECRET-\(UInt32.random(in: 0...UInt32.max))"
        let saslPassword = "sasl-SECRET-\(UInt32.random(in: 0...UInt32.max))"
        let secrets = ["LLMQ_PROVIDER_API_KEY": apiKey, "LLMQ_KAFKA_SASL_PASSWORD": saslPassword]
        let a = try LLMQProcess(workerSettings: bed.settings(concurrency: 6, extra: ["worker.id=wterm", "log.level=debug"]), name: "term", environment: secrets)

        // Wait until jobs are mid-stream, then ask the worker to stop.
        try await bed.chunks.waitFor("streams in flight") { $0.count >= 12 }
        a.signal(SIGTERM)
        #expect(try await a.waitForExit(timeout: .seconds(30)) == 0, "\(a.log.suffix(2000))")
        // Every stream A started finished: no job was cut off by the shutdown. (The collectors read
        // the topics on their own: wait for them rather than race them; a cut-off stream never
        // gets such an event, and this wait fails.)
        try await bed.chunks.waitFor("every stream of A to end", timeout: .seconds(30)) { _ in
            let streamsOfA = bed.streams.values.filter { $0.first?.streamID.hasPrefix("wterm.") == true }
            return !streamsOfA.isEmpty && streamsOfA.allSatisfy { stream in
                stream.contains { if case .end = $0.kind { true } else if case .abort(let reason, _) = $0.kind { reason != "cancelled" } else { false } }
            }
        }
        try await bed.results.waitFor("results A produced while draining", timeout: .seconds(30)) { messages in
            messages.contains { JobResult.decode($0.value)?.worker == "wterm" }
        }

        // A second worker finishes the rest; nothing is processed twice.
        let b = try LLMQProcess(workerSettings: bed.settings(concurrency: 6, extra: ["worker.id=wnext"]), name: "next")
        let results = try await bed.waitForResults(ids + ["term-fails"], timeout: .seconds(90))
        // Its own topic: the dead letter can be read after the result that came with it.
        _ = try await bed.deadLetters.waitFor("the dead letter of term-fails") { !$0.isEmpty }
        let base = try #require(b.metricsBaseURL, "a metrics URL in the worker log")
        let metricsText = try await httpGetText(base + "/metrics")
        #expect(try await httpGetText(base + "/healthz") == "ok\n")
        #expect(try await httpGetText(base + "/readyz") == "ready\n")
        b.signal(SIGTERM)
        #expect(try await b.waitForExit() == 0)
        let twice = results.filter { $0.value.count > 1 }.map { "\($0.key)@\($0.value.map { "\($0.worker ?? "")/\($0.source.partition)/\($0.source.offset)" })" }
        if !twice.isEmpty { print("DUP: \(twice)\n--- A log ---\n\(a.log.split(separator: "\n").filter { !$0.contains("debug") || $0.contains("commit") || $0.contains("offset") || $0.contains("COMMIT") }.suffix(80).joined(separator: "\n"))") }
        for id in ids {
            #expect(results[id]?.count == 1, "\(id) processed once")
            #expect(results[id]?.first?.text == bed.expectedText(id: id))
        }

        // The secrets appear nowhere: not in logs, results, dead letters or metrics.
        #expect(metricsText.contains("llmq_jobs_total"))
        let everything = [a.log, b.log, metricsText] + bed.results.messages.map(\.valueString)
            + bed.deadLetters.messages.map { $0.valueString + $0.headers.map { $0.stringValue ?? "" }.joined() }
            + bed.chunks.messages.map(\.valueString)
        for text in everything {
            #expect(!text.contains(apiKey))
            #expect(!text.contains(saslPassword))
        }
        #expect(bed.deadLetters.messages.count == 1)
        await bed.close()
    }

    @Test("a full worker keeps its group membership through calls longer than max.poll.interval.ms")
    func longCallsKeepMembership() async throws {
        let bed = try await WorkerTestbed(jobPartitions: 2, mockConfiguration: MockLLMConfiguration(port: 0, words: 12, gap: .milliseconds(400)))
        let ids = (0..<6).map { "long-\($0)" }
        for id in ids { try await bed.enqueue(id: id) }
        // Each call takes ~5 s, longer than max.poll.interval.ms (4 s); two at a time, so the worker is full.
        let worker = InProcessWorker(try bed.configuration(concurrency: 2, extra: ["kafka.max.poll.interval.ms=4000", "kafka.session.timeout.ms=3000"]))
        let results = try await bed.waitForResults(ids, timeout: .seconds(90))
        try await worker.stop()
        for id in ids {
            #expect(results[id]?.count == 1, "\(id): no redelivery, so no rebalance took the partition away")
            #expect(results[id]?.first?.attempts == 1)
        }
        #expect(bed.mock.stats.maxConcurrentStreams <= 2)
        await bed.close()
    }
}
