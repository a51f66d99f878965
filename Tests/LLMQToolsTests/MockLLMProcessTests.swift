import AsyncHTTPClient
import Foundation
import LLMQHarness
import LLMQMockLLM
import LLMQTesting
import LLMQTools
import NIOCore
import NIOHTTP1
import Testing

/// `llmq mock-llm` as a process, the way the bench and the worker's process tests use it: the
/// rate-limit and quota options reach the server, and its admin endpoints work over HTTP.
/// Counts only: a 1 request/s limit against a burst of 20 cannot pass them all unless the burst
/// takes 19 seconds.
@Suite("llmq mock-llm rate limits and quota, as a process")
struct MockLLMProcessTests {
    @Test func burstBeyondTheLimitIsThrottledAndCounted() async throws {
        try await withStandIn(["--requests-per-second", "1", "--words", "3"]) { base in
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for i in 0..<20 {
                    group.addTask {
                        let (status, headers) = try await post(base + "/v1/chat/completions", chatJSON("burst \(i)"))
                        return (status, status == 429 ? headers.first(name: "retry-after") : headers.first(name: "x-ratelimit-limit-requests"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let throttled = statuses.filter { $0.0 == 429 }
            #expect(throttled.count >= 1)
            #expect(throttled.allSatisfy { $0.1 == "1" }, "Retry-After of a 1/s limit is 1 s")
            #expect(statuses.filter { $0.0 == 200 }.allSatisfy { $0.1 == "60" }, "successes carry x-ratelimit-limit-requests, per minute")
            let stats = try await standInStats(base)
            #expect(stats.throttled == throttled.count)
            #expect(stats.requests == 20)
        }
    }

    @Test func quotaRefusesUntilResetOverHTTP() async throws {
        try await withStandIn(["--quota-requests", "1", "--words", "3"]) { base in
            #expect(try await post(base + "/v1/chat/completions", chatJSON("first")).0 == 200)
            let (status, headers) = try await post(base + "/v1/chat/completions", chatJSON("second"))
            #expect(status == 429)
            #expect(headers.first(name: "retry-after") == nil)
            #expect(try await post(base + "/mock/quota/reset", "").0 == 200)
            #expect(try await post(base + "/v1/chat/completions", chatJSON("third")).0 == 200)
            let stats = try await standInStats(base)
            #expect(stats.quotaRefused == 1)
            #expect(stats.requests == 3)
        }
    }
}

private func chatJSON(_ prompt: String) -> String {
    #"{"model":"mock-1","stream":true,"messages":[{"role":"user","content":"\#(prompt)"}]}"#
}

private func post(_ url: String, _ json: String) async throws -> (Int, HTTPHeaders) {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "content-type", value: "application/json")
    request.body = .bytes(ByteBuffer(string: json))
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    _ = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), response.headers)
}

private func standInStats(_ base: String) async throws -> MockLLMStats {
    try JSONDecoder().decode(MockLLMStats.self, from: Data(try await httpGetText(base + "/mock/stats").utf8))
}

/// Runs `llmq mock-llm --port 0 <arguments>` and hands `body` its base URL.
private func withStandIn(_ arguments: [String], _ body: (String) async throws -> Void) async throws {
    let process = try LLMQProcess(["mock-llm", "--port", "0"] + arguments, name: "mock-llm-limits")
    // On an early exit, LLMQProcess's deinit kills the process if it still runs.
    let marker = "listening on http://127.0.0.1:"
    try await waitUntil("the stand-in to listen") { process.log.contains(marker) }
    let log = process.log
    let port = try #require(Int(log[log.range(of: marker)!.upperBound...].prefix { $0.isNumber }))
    try await body("http://127.0.0.1:\(port)")
    process.signal(SIGTERM)
    _ = try await process.waitForExit(timeout: .seconds(30))
}
