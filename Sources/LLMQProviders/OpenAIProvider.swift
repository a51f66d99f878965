#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// The OpenAI chat-completions wire format (`POST {base_url}/v1/chat/completions`), which also
/// serves every compatible server and the built-in mock.
public struct OpenAIProvider: Provider {
    public let name: String
    private let url: String
    private let apiKey: String?
    private let model: String?
    private let http: HTTPCall

    /// - Parameters:
    ///   - httpClient: the process-wide client; the provider never shuts it down.
    ///   - baseURL: e.g. `https://api.openai.com` (no `/v1`).
    ///   - apiKey: sent as a Bearer token; nil sends no Authorization header.
    ///   - model: used when the request names none.
    ///   - name: "openai" or "mock".
    public init(
        httpClient: HTTPClient,
        baseURL: String,
        apiKey: String?,
        model: String? = nil,
        name: String = "openai",
        logger: Logger = Logger(label: "llmq.provider.openai")
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.url = base + "/v1/chat/completions"
        self.apiKey = apiKey
        self.model = model
        self.name = name
        self.http = HTTPCall(client: httpClient, secrets: Secrets([apiKey]), logger: logger)
    }

    public func complete(
        _ request: ProviderRequest,
        timeouts: Timeouts,
        onDelta: (String) async throws -> Void
    ) async throws -> ProviderCompletion {
        let (httpRequest, body) = try self.httpRequest(for: request)
        let secrets = self.http.secrets
        return try await self.http.perform(httpRequest, body: body, timeouts: timeouts, streaming: request.stream,
                                 onSent: request.onRequestSent) { response, watchdog in
            request.onResponseHead?(RateLimitHeaders(status: Int(response.status.code), headers: response.headers))
            guard response.status == .ok else {
                let errorBody = try await HTTPCall.collect(response, limit: 64 * 1024)
                throw OpenAIWire.statusError(status: Int(response.status.code), headers: response.headers, body: errorBody, secrets: secrets)
            }
            let contentType = response.headers.first(name: "content-type") ?? ""
            if request.stream, contentType.contains("text/event-stream") {
                var decoder = OpenAIStreamDecoder(secrets: secrets)
                return try await HTTPCall.readStream(response, watchdog: watchdog, decoder: &decoder, onDelta: onDelta)
            }
            // Non-streaming, or a server that ignored `stream: true`: one JSON document.
            let whole = try await HTTPCall.collect(response)
            return try await Self.readWhole(whole, secrets: secrets, onDelta: onDelta)
        }
    }

    /// The HTTP request of a call. Synchronous, so its temporaries stay off the call's async frame.
    private func httpRequest(for request: ProviderRequest) throws -> (HTTPClientRequest, ByteBuffer) {
        let body: ByteBuffer
        do {
            body = try JSONCoding.encode(OpenAIWire.Request(request, defaultModel: self.model))
        } catch {
            throw ProviderError(code: .badRequest, message: "cannot encode the request: \(error)")
        }
        var httpRequest = HTTPClientRequest(url: self.url)
        httpRequest.method = .POST
        httpRequest.headers.add(name: "content-type", value: "application/json")
        httpRequest.headers.add(name: "accept", value: request.stream ? "text/event-stream" : "application/json")
        if let apiKey { httpRequest.headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        return (httpRequest, body)
    }

    private static func readWhole(_ body: ByteBuffer, secrets: Secrets, onDelta: (String) async throws -> Void) async throws -> ProviderCompletion {
        let decoded: OpenAIWire.Chunk
        do {
            decoded = try JSONCoding.decode(OpenAIWire.Chunk.self, from: body, using: JSONDecoder())
        } catch {
            throw HTTPCall.undecodable("response", snippet: secrets.snippet(body))
        }
        if let error = decoded.error {
            throw OpenAIWire.streamError(error, secrets: secrets, partialUsage: nil)
        }
        guard let choice = decoded.choices?.first else {
            throw ProviderError(code: .malformedEvent, message: "the response has no choices")
        }
        if let text = choice.message?.content, !text.isEmpty {
            try await HTTPCall.deliver(text, to: onDelta)
        }
        return ProviderCompletion(finishReason: choice.finish_reason, usage: decoded.usage?.tokenUsage, model: decoded.model)
    }
}
