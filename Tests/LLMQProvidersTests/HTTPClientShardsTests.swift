import AsyncHTTPClient
import LLMQMockLLM
import Testing

@testable import LLMQProviders

@Suite("HTTPClientShards: calls spread over several connection pools")
struct HTTPClientShardsTests {
    @Test("clients are handed out in turn")
    func inTurn() async throws {
        let shards = HTTPClientShards(shards: 3, configuration: HTTPClient.Configuration())
        let handedOut = (0..<7).map { _ in ObjectIdentifier(shards.next()) }
        let ids = shards.clients.map { ObjectIdentifier($0) }
        #expect(Set(ids).count == 3)
        #expect(handedOut == [ids[0], ids[1], ids[2], ids[0], ids[1], ids[2], ids[0]])
        try await shards.shutdown()
        // Its own clients are shut down: a second shutdown is refused.
        await #expect(throws: HTTPClientError.alreadyShutdown) { try await shards.clients[0].shutdown() }
    }

    @Test("the automatic count: one pool per 256 calls at once")
    func automaticCount() {
        #expect(HTTPClientShards.automaticCount(concurrency: 1) == 1)
        #expect(HTTPClientShards.automaticCount(concurrency: 256) == 1)
        #expect(HTTPClientShards.automaticCount(concurrency: 257) == 2)
        #expect(HTTPClientShards.automaticCount(concurrency: 5000) == 20)
    }

    @Test("a client passed in stays the caller's to shut down")
    func borrowedClient() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let shards = HTTPClientShards(client)
        #expect(shards.next() === client)
        try await shards.shutdown()
        try await client.shutdown()
    }

    @Test("streamed calls over three pools each get their whole reply")
    func callsOverShards() async throws {
        try await MockHarness.with { mock in
            let shards = HTTPClientShards(shards: 3, configuration: HTTPClient.Configuration())
            let provider = OpenAIProvider(httpClients: shards, baseURL: mock.baseURL, apiKey: nil, model: "mock-model")
            try await withThrowingTaskGroup(of: (String, String).self) { group in
                for i in 0..<9 {
                    let prompt = "call \(i) [[mock words=12]]"
                    group.addTask {
                        var text = ""
                        _ = try await provider.complete(chat(prompt), timeouts: .default) { text += $0 }
                        return (prompt, text)
                    }
                }
                for try await (prompt, text) in group {
                    #expect(text == MockReply.pieces(for: prompt, words: 12).joined())
                }
            }
            try await shards.shutdown()
        }
    }
}
