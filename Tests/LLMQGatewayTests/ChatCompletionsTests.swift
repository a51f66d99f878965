import Foundation
import LLMQCore
import LLMQHarness
import LLMQMockLLM
import LLMQTestSupport
import Testing

/// `POST /v1/chat/completions` through gateway, Kafka and a worker: raw HTTP, and the official
/// OpenAI Python SDK unchanged.
@Suite("Gateway: OpenAI-compatible chat completions", .serialized)
struct ChatCompletionsTests {
    static func body(_ prompt: String, stream: Bool, extra: String = "") -> String {
        #"{"model": "mock-1", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": \#(jsonString(prompt))}], "stream": \#(stream)\#(extra)}"#
    }

    @Test("non-streamed: one chat.completion with the job's text and usage")
    func nonStreamed() async throws {
        let fixture = try await GatewayFixture()
        let prompt = GatewayFixture.prompt("Say hello")
        let reply = try await fixture.client.send(.POST, "/v1/chat/completions", json: Self.body(prompt, stream: false))
        #expect(reply.status == 200)
        #expect(reply.json["object"] as? String == "chat.completion")
        let choice = try #require((reply.json["choices"] as? [[String: Any]])?.first)
        #expect((choice["message"] as? [String: Any])?["content"] as? String == GatewayFixture.expected(prompt))
        #expect(choice["finish_reason"] as? String == "stop")
        let usage = try #require(reply.json["usage"] as? [String: Any])
        #expect(usage["completion_tokens"] as? Int == 12)
        #expect(usage["total_tokens"] as? Int == (usage["prompt_tokens"] as? Int ?? 0) + 12)
        try await fixture.close()
    }

    @Test("streamed: chat.completion.chunk events with the role first, the text in order, the finish reason, usage when asked, then [DONE]")
    func streamed() async throws {
        let fixture = try await GatewayFixture()
        let prompt = GatewayFixture.prompt("Stream it", words: 20, gapMs: 5)
        let events = try await fixture.client.stream("/v1/chat/completions", method: .POST,
                                                     json: Self.body(prompt, stream: true, extra: #", "stream_options": {"include_usage": true}"#)).collect()
        #expect(events.last?.data == "[DONE]")
        let chunks = events.dropLast().map(\.json)
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
        let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]) }
        #expect(deltas.first?["role"] as? String == "assistant")
        #expect(deltas.compactMap { $0["content"] as? String }.joined() == GatewayFixture.expected(prompt, words: 20))
        #expect(chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String } == ["stop"])
        let usage = try #require(chunks.last?["usage"] as? [String: Any])
        #expect(usage["completion_tokens"] as? Int == 20)
        try await fixture.close()
    }

    @Test("a job that fails answers with an OpenAI error; bad requests get 400 with the param")
    func errors() async throws {
        let fixture = try await GatewayFixture()
        let failed = try await fixture.client.send(.POST, "/v1/chat/completions", json: Self.body("no [[mock fail=400]]", stream: false))
        #expect(failed.status == 502)
        #expect((failed.json["error"] as? [String: Any])?["type"] as? String == "llmq_job_failed")
        let streamedFailure = try await fixture.client.stream("/v1/chat/completions", method: .POST, json: Self.body("no [[mock fail=400]]", stream: true)).collect()
        #expect(streamedFailure.last.map { $0.json["error"] != nil } == true)
        let bad = try await fixture.client.send(.POST, "/v1/chat/completions", json: #"{"model": "m", "messages": [], "n": 1}"#)
        #expect(bad.status == 400)
        #expect((bad.json["error"] as? [String: Any])?["param"] as? String == "messages")
        let n = try await fixture.client.send(.POST, "/v1/chat/completions", json: #"{"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}"#)
        #expect(n.status == 400)
        try await fixture.close()
    }

    @Test("a client that disconnects mid-stream cancels its job: a cancel message for it reaches the control topic")
    func disconnectCancels() async throws {
        let fixture = try await GatewayFixture()
        let prompt = GatewayFixture.prompt("A long answer", words: 60, gapMs: 50)
        let stream = try await fixture.client.stream("/v1/chat/completions", method: .POST, json: Self.body(prompt, stream: true))
        var jobID: String?
        for try await event in stream {
            let content = ((event.json["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            if let id = event.json["id"] as? String { jobID = String(id.dropFirst("chatcmpl-".count)) }
            if let content, !content.isEmpty { break }
        }
        let id = try #require(jobID)
        // Leaving the loop drops the response body: the connection closes.
        let message = try await fixture.waitForCancel(id)
        #expect(message.type == .cancel)
        try await fixture.close()
    }

    @Test("the official OpenAI Python SDK, unchanged: streamed and non-streamed completions with the exact texts and usage")
    func openAIPythonSDK() async throws {
        if let reason = TestClients.unavailable {
            print("skipping the OpenAI SDK test: \(reason)")
            return
        }
        let token = "sdk-token-0123456789abcdef"
        let fixture = try await GatewayFixture(gatewaySettings: ["gateway.tokens=\(token)"], token: token)
        let whole = GatewayFixture.prompt("What is Kafka?", words: 15)
        let streamed = GatewayFixture.prompt("What is a consumer group?", words: 25, gapMs: 5)
        let spec: [String: Any] = [
            "base_url": fixture.gateway.baseURL, "api_key": token,
            "cases": [
                ["prompt": whole, "expected": GatewayFixture.expected(whole, words: 15), "stream": false],
                ["prompt": streamed, "expected": GatewayFixture.expected(streamed, words: 25), "stream": true],
            ],
        ]
        let input = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let outcome = await TestClients.runDetached(TestClients.python, [TestClients.root.appendingPathComponent("scripts/clients/openai_check.py").path], stdin: input)
        #expect(outcome.status == 0, "openai_check.py: \(outcome.stdout) \(outcome.stderr.suffix(2000))")
        let lines = outcome.stdout.split(separator: "\n").map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:] }
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0["ok"] as? Bool == true }, "\(outcome.stdout)")
        try await fixture.close()
    }
}
