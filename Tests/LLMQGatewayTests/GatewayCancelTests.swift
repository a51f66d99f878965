import Foundation
import LLMQCore
import LLMQHarness
import LLMQMockLLM
import LLMQProviders
import LLMQTestSupport
import LLMQTesting
import Testing

/// Cancel end to end: gateway → control topic → worker → chunk and result topics → gateway.
@Suite("Gateway: cancel end to end", .serialized)
struct GatewayCancelTests {
    @Test("DELETE on a running job: its events end with abort 'cancelled' and a cancelled result; GET shows it")
    func cancelRunning() async throws {
        let fixture = try await GatewayFixture()
        let prompt = GatewayFixture.prompt("A slow answer", words: 200, gapMs: 50)
        let id = try #require(try await fixture.client.send(.POST, "/v1/jobs", json: #"{"prompt": \#(jsonString(prompt))}"#).json["id"] as? String)
        let stream = try await fixture.client.stream("/v1/jobs/\(id)/events")
        var events: [SSEEvent] = []
        var cancelled = false
        for try await event in stream {
            events.append(event)
            if !cancelled, events.filter({ $0.event == "delta" }).count == 3 {
                cancelled = true
                #expect(try await fixture.client.send(.DELETE, "/v1/jobs/\(id)").status == 202)
            }
        }
        #expect(events.last?.event == "result")
        #expect(events.last?.json["status"] as? String == "cancelled")
        let abort = try #require(events.last { $0.event == "abort" })
        #expect(abort.json["reason"] as? String == "cancelled")
        #expect(abort.json["retrying"] as? Bool == false)
        #expect(events.filter { $0.event == "delta" }.count < 200)
        let status = try await fixture.client.send(.GET, "/v1/jobs/\(id)")
        #expect(status.status == 200)
        #expect(status.json["status"] as? String == "cancelled")
        try await fixture.close()
    }

    @Test("DELETE on a queued job: once a worker takes it, it gets its cancelled result without a provider call")
    func cancelQueued() async throws {
        let fixture = try await GatewayFixture(worker: false)
        let id = try #require(try await fixture.client.send(.POST, "/v1/jobs", json: #"{"id": "queued-1", "prompt": "wait"}"#).json["id"] as? String)
        #expect(try await fixture.client.send(.GET, "/v1/jobs/\(id)").json["status"] as? String == "queued")
        #expect(try await fixture.client.send(.DELETE, "/v1/jobs/\(id)").status == 202)
        _ = try await fixture.waitForCancel(id)
        let worker = InProcessWorker(try fixture.bed.configuration(concurrency: 2))
        let events = try await fixture.client.stream("/v1/jobs/\(id)/events").collect()
        try await worker.stop()
        #expect(events.map(\.event) == ["result"], "no stream: the job was never called")
        #expect(events.last?.json["status"] as? String == "cancelled")
        #expect(fixture.bed.mock.stats.requests == 0)
        try await fixture.close()
    }

    @Test("a chat completion whose client disconnects ends as a cancelled job")
    func disconnectedCompletionIsCancelled() async throws {
        let fixture = try await GatewayFixture()
        let prompt = GatewayFixture.prompt("A long answer", words: 200, gapMs: 50)
        let body = #"{"model": "mock-1", "messages": [{"role": "user", "content": \#(jsonString(prompt))}], "stream": true}"#
        let stream = try await fixture.client.stream("/v1/chat/completions", method: .POST, json: body)
        var jobID: String?
        for try await event in stream {
            if let id = event.json["id"] as? String { jobID = String(id.dropFirst("chatcmpl-".count)) }
            let content = ((event.json["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            if let content, !content.isEmpty { break }
        }
        let id = try #require(jobID)
        let results = try await fixture.bed.waitForResults([id])
        #expect(results[id]?.first?.status == .cancelled)
        try await fixture.close()
    }
}
