import Foundation
import LLMQCore
import LLMQHarness
import LLMQTesting
import LLMQKafka
import LLMQTestSupport
import LLMQTools
import LLMQWorker
import Testing

/// Cancel, auth, CORS and limits over real sockets.
@Suite("Gateway: cancel, auth, limits", .serialized)
struct GatewayControlTests {
    @Test("DELETE /v1/jobs/{id} and `llmq cancel` (JobCanceller) put a cancel message keyed by the job id on the control topic; a finished job gets 409")
    func cancelProducesControlMessages() async throws {
        let fixture = try await GatewayFixture(worker: false)
        _ = try await fixture.client.send(.POST, "/v1/jobs", json: #"{"id": "to-cancel", "prompt": "hello"}"#)
        let reply = try await fixture.client.send(.DELETE, "/v1/jobs/to-cancel")
        #expect(reply.status == 202)
        #expect(reply.json["status"] as? String == "cancel_requested")
        let message = try await fixture.waitForCancel("to-cancel")
        #expect(message.type == .cancel)
        // The gateway reads the control topic too: the job shows the request.
        try await waitUntil("the gateway saw the cancel") {
            try await fixture.client.send(.GET, "/v1/jobs/to-cancel").json["cancel_requested"] as? Bool == true
        }

        try await KafkaProducer.withProducer(config: KafkaConfig(["bootstrap.servers": fixture.bed.cluster.bootstrapServers]),
                                             logger: .init(label: "test")) { producer in
            try await JobCanceller(producer: producer, topic: WorkerConfiguration.defaults.controlTopic).cancel("cli-cancelled")
        }
        _ = try await fixture.waitForCancel("cli-cancelled")
        let keys = fixture.control.messages.map(\.keyString)
        #expect(keys.contains("to-cancel") && keys.contains("cli-cancelled"))
        try await fixture.close()
    }

    @Test("a finished job cannot be cancelled (409)")
    func cancelFinished() async throws {
        let fixture = try await GatewayFixture()
        _ = try await fixture.client.send(.POST, "/v1/jobs", json: #"{"id": "done-1", "prompt": "hi [[mock words=3]]"}"#)
        _ = try await fixture.client.stream("/v1/jobs/done-1/events").collect()
        let reply = try await fixture.client.send(.DELETE, "/v1/jobs/done-1")
        #expect(reply.status == 409)
        #expect(reply.json["status"] as? String == "succeeded")
        try await fixture.close()
    }

    @Test("bearer tokens: none or a wrong one gets 401 on every API route, the right one passes; the page and /healthz are open")
    func auth() async throws {
        let token = "test-token-0123456789abcdef"
        let fixture = try await GatewayFixture(worker: false, gatewaySettings: ["gateway.tokens=other-token-000000000000,\(token)"], token: token)
        let anonymous = GatewayClient(baseURL: fixture.gateway.baseURL, http: fixture.http)
        var wrong = anonymous
        wrong.token = "test-token-0123456789abcdeX"
        for client in [anonymous, wrong] {
            #expect(try await client.send(.POST, "/v1/jobs", json: #"{"prompt": "x"}"#).status == 401)
            #expect(try await client.send(.GET, "/v1/jobs/x").status == 401)
            #expect(try await client.send(.GET, "/v1/jobs/x/events").status == 401)
            #expect(try await client.send(.DELETE, "/v1/jobs/x").status == 401)
            #expect(try await client.send(.GET, "/v1/events").status == 401)
            #expect(try await client.send(.POST, "/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "x"}]}"#).status == 401)
        }
        #expect(try await fixture.client.send(.POST, "/v1/jobs", json: #"{"prompt": "x"}"#).status == 202)
        #expect(try await anonymous.send(.GET, "/").status == 200)
        #expect(try await anonymous.send(.GET, "/healthz").status == 200)
        #expect(try await anonymous.send(.GET, "/").text.contains("llmq"))
        try await fixture.close()
    }

    @Test("CORS: a preflight from an allowed origin is answered, responses carry the allow header; other origins get none")
    func cors() async throws {
        let fixture = try await GatewayFixture(worker: false, gatewaySettings: ["gateway.cors_origins=https://app.example.com"])
        let preflight = try await fixture.client.send(.OPTIONS, "/v1/jobs", headers: [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST")])
        #expect(preflight.status == 204)
        #expect(preflight.headers.first(name: "Access-Control-Allow-Origin") == "https://app.example.com")
        #expect(preflight.headers.first(name: "Access-Control-Allow-Headers")?.contains("Authorization") == true)
        let allowed = try await fixture.client.send(.GET, "/v1/jobs", headers: [("Origin", "https://app.example.com")])
        #expect(allowed.headers.first(name: "Access-Control-Allow-Origin") == "https://app.example.com")
        let other = try await fixture.client.send(.GET, "/v1/jobs", headers: [("Origin", "https://evil.example.com")])
        #expect(other.headers.first(name: "Access-Control-Allow-Origin") == nil)
        try await fixture.close()
    }

    @Test("limits: a body over gateway.max_body_bytes gets 413; streams over gateway.max_clients get 503 until one ends")
    func limits() async throws {
        let fixture = try await GatewayFixture(worker: false, gatewaySettings: ["gateway.max_body_bytes=2048", "gateway.max_clients=2"])
        let big = String(repeating: "x", count: 4096)
        let tooLarge = try await fixture.client.send(.POST, "/v1/jobs", json: #"{"prompt": "\#(big)"}"#)
        #expect(tooLarge.status == 413)
        #expect((tooLarge.json["error"] as? [String: Any])?["kind"] as? String == "too_large")

        let first = Task { try await fixture.client.stream("/v1/jobs/a/events").collect() }
        let second = Task { try await fixture.client.stream("/v1/events").collect() }
        try await waitUntil("two streams open") { fixture.gateway.gateway.hub.clientCount == 2 }
        let refused = try await fixture.client.send(.GET, "/v1/jobs/b/events")
        #expect(refused.status == 503)
        #expect(refused.headers.first(name: "Retry-After") == "1")
        first.cancel()
        try await waitUntil("a stream closed") { fixture.gateway.gateway.hub.clientCount == 1 }
        let third = try await fixture.client.stream("/v1/jobs/c/events")
        #expect(third.status == 200)
        second.cancel()
        try await fixture.close()
    }
}
