import Foundation
import LLMQCore
import LLMQHarness
import LLMQTesting
import LLMQKafka
import LLMQProviders
import LLMQTestSupport
import LLMQWorker
import Testing

/// The job endpoints over real sockets: gateway → Kafka → worker → Kafka → gateway.
@Suite("Gateway: jobs, events, status", .serialized)
struct GatewayJobsTests {
    @Test("POST /v1/jobs without an id → 202 with a generated id; its events follow the stream rule and end with the result; GET gives the result")
    func submitAndFollow() async throws {
        let fixture = try await GatewayFixture()
        let prompt = GatewayFixture.prompt("Why is the sky blue?")
        let reply = try await fixture.client.send(.POST, "/v1/jobs", json: #"{"prompt": \#(jsonString(prompt))}"#)
        #expect(reply.status == 202)
        let id = try #require(reply.json["id"] as? String)
        #expect(reply.headers.first(name: "Location") == "/v1/jobs/\(id)")

        let stream = try await fixture.client.stream("/v1/jobs/\(id)/events")
        #expect(stream.status == 200)
        let events = try await stream.collect()
        #expect(events.first?.event == "reset")
        #expect(events.last?.event == "result")
        #expect(events.last?.id == "result")
        let deltas = events.filter { $0.event == "delta" }
        #expect(deltas.map { $0.json["delta"] as? String ?? "" }.joined() == GatewayFixture.expected(prompt))
        let streamID = try #require(events.first?.json["stream_id"] as? String)
        #expect(deltas.map(\.id) == deltas.indices.map { "\(streamID):\($0 + 1)" }, "ids are <stream_id>:<seq>")
        #expect(events.dropLast().last?.event == "end")
        #expect(events.last?.json["status"] as? String == "succeeded")

        let status = try await fixture.client.send(.GET, "/v1/jobs/\(id)")
        #expect(status.status == 200)
        #expect(status.json["status"] as? String == "succeeded")
        #expect(status.json["text"] as? String == GatewayFixture.expected(prompt))
        try await fixture.close()
    }

    @Test("a repeated id is not enqueued twice; invalid jobs and unknown fields get 400; GET of an unknown job is 404")
    func duplicatesAndValidation() async throws {
        let fixture = try await GatewayFixture(worker: false)
        let first = try await fixture.client.send(.POST, "/v1/jobs", json: #"{"id": "dup-1", "prompt": "hello"}"#)
        let second = try await fixture.client.send(.POST, "/v1/jobs", json: #"{"id": "dup-1", "prompt": "hello again"}"#)
        #expect(first.status == 202)
        #expect(second.status == 202)
        #expect(second.json["duplicate"] as? Bool == true)
        let admin = try KafkaAdmin(config: KafkaConfig(["bootstrap.servers": fixture.bed.cluster.bootstrapServers]))
        let marks = try await admin.watermarks(topic: WorkerTestbed.jobsTopic)
        #expect(marks.values.reduce(0) { $0 + $1.high - $1.low } == 1, "one job message for two submissions")

        let invalid = try await fixture.client.send(.POST, "/v1/jobs", json: #"{"prompt": "x", "params": {"bogus": 1}}"#)
        #expect(invalid.status == 400)
        #expect((invalid.json["error"] as? [String: Any])?["kind"] as? String == "invalid_field")
        let notJSON = try await fixture.client.send(.POST, "/v1/jobs", json: "not json")
        #expect(notJSON.status == 400)
        // The gateway reads a job as the workers do (strict JSON): a trailing comma is refused with
        // or without an id, where the gateway used to accept it when it added the id itself.
        for body in [#"{"prompt": "x",}"#, #"{"id": "comma-1", "prompt": "x",}"#] {
            let trailingComma = try await fixture.client.send(.POST, "/v1/jobs", json: body)
            #expect(trailingComma.status == 400, "\(body)")
            let error = trailingComma.json["error"] as? [String: Any]
            #expect(error?["kind"] as? String == "malformed_json", "\(body)")
            #expect((error?["message"] as? String)?.contains("at byte") == true, "\(body): the reason and where")
        }

        let queued = try await fixture.client.send(.GET, "/v1/jobs/dup-1")
        #expect(queued.status == 202)
        #expect(queued.json["status"] as? String == "queued")
        let unknown = try await fixture.client.send(.GET, "/v1/jobs/nope")
        #expect(unknown.status == 404)
        try await fixture.close()
    }

    @Test("a late joiner gets the text so far; a reconnect with Last-Event-ID resumes without gaps or repeats")
    func lateJoinAndResume() async throws {
        let fixture = try await GatewayFixture()
        let words = 40
        let prompt = GatewayFixture.prompt("Tell a long story", words: words, gapMs: 40)
        let id = try #require(try await fixture.client.send(.POST, "/v1/jobs", json: #"{"prompt": \#(jsonString(prompt))}"#).json["id"] as? String)
        // Join late: once the gateway has shown some text.
        try await waitUntil("some text streamed", timeout: .seconds(60)) {
            let status = try await fixture.client.send(.GET, "/v1/jobs/\(id)")
            return (status.json["text"] as? String ?? "").count > 10
        }
        let first = try await fixture.client.stream("/v1/jobs/\(id)/events")
        var firstEvents: [SSEEvent] = []
        for try await event in first {
            firstEvents.append(event)
            if firstEvents.filter({ $0.event == "delta" }).count == 8 { break }
        }
        #expect(firstEvents.first?.event == "reset", "a late joiner starts with the stream's reset")
        let lastID = try #require(firstEvents.last?.id)
        // Reconnect where the first connection stopped.
        let second = try await fixture.client.stream("/v1/jobs/\(id)/events", lastEventID: lastID)
        let rest = try await second.collect()
        #expect(rest.first?.event == "delta", "no reset: the same stream resumes")
        #expect(rest.last?.event == "result")
        let all = (firstEvents + rest).filter { $0.event == "delta" }
        let seqs = all.compactMap { $0.json["seq"] as? Int }
        #expect(seqs == Array(1...words), "every delta once, in order")
        #expect(all.map { $0.json["delta"] as? String ?? "" }.joined() == GatewayFixture.expected(prompt, words: words))

        // After the result: a client joining now gets everything and the result, and the response ends.
        let replay = try await fixture.client.stream("/v1/jobs/\(id)/events").collect()
        #expect(replay.filter { $0.event == "delta" }.count == words)
        #expect(replay.last?.event == "result")
        // Resuming after the result gets only the result.
        let afterResult = try await fixture.client.stream("/v1/jobs/\(id)/events", lastEventID: "result").collect()
        #expect(afterResult.map(\.event) == ["result"])
        try await fixture.close()
    }

    @Test("/v1/events follows every job; GET /v1/jobs lists recent jobs")
    func firehoseAndList() async throws {
        let fixture = try await GatewayFixture()
        let all = try await fixture.client.stream("/v1/events")
        let prompt = GatewayFixture.prompt("firehose")
        let id = try #require(try await fixture.client.send(.POST, "/v1/jobs", json: #"{"id": "fire-1", "prompt": \#(jsonString(prompt))}"#).json["id"] as? String)
        let events = try await all.collect { $0.event == "result" && $0.json["job_id"] as? String == id }
        let mine = events.filter { $0.json["job_id"] as? String == id }
        #expect(mine.first?.event == "queued")
        #expect(mine.contains { $0.event == "reset" })
        #expect(mine.last?.event == "result")
        let list = try await fixture.client.send(.GET, "/v1/jobs")
        let jobs = try #require(list.json["jobs"] as? [[String: Any]])
        #expect(jobs.first?["id"] as? String == id)
        #expect(jobs.first?["status"] as? String == "succeeded")
        try await fixture.close()
    }
}
