#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import AsyncHTTPClient
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
    ///   - httpClients: the process-wide clients; the provider never shuts them down.
    ///   - baseURL: e.g. `https://api.openai.com` (no `/v1`).
    ///   - apiKey: sent as a Bearer token; nil sends no Authorization header.
    ///   - model: used when the request names none.
    ///   - name: "openai" or "mock".
    public init(
        httpClients: HTTPClientShards,
        baseURL: String,
        apiKey: String?,
        model: String? = nil,
        name: String = "openai"
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.url = base + "/v1/chat/completions"
        self.apiKey = apiKey
        self.model = model
        self.name = name
        self.http = HTTPCall(clients: httpClients, secrets: Secrets([apiKey]))
    }

    /// A provider on one client the caller owns.
    public init(httpClient: HTTPClient, baseURL: String, apiKey: String?, model: String? = nil, name: String = "openai") {
        self.init(httpClients: HTTPClientShards(httpClient), baseURL: baseURL, apiKey: apiKey, model: model, name: name)
    }

    public func complete(
        _ request: ProviderRequest,
        timeouts: Timeouts,
        into sink: any DeltaSink
    ) async throws -> ProviderCompletion {
        let (headers, body) = try self.httpRequest(for: request)
        let secrets = self.http.secrets
        let outcome = try await self.http.perform(
            url: self.url, headers: headers, body: body, timeouts: timeouts, streaming: request.stream,
            onSent: request.onRequestSent, onHead: request.onResponseHead,
            decoder: OpenAIStreamDecoder(secrets: secrets), sink: sink)
        switch outcome {
        case .streamed(let completion):
            return completion
        case .whole(let status, let headers, let body):
            guard status == .ok else {
                throw OpenAIWire.statusError(status: Int(status.code), headers: headers, body: body, secrets: secrets)
            }
            // Non-streaming, or a server that ignored `stream: true`: one JSON document.
            return try await Self.readWhole(body, secrets: secrets, sink: sink)
        }
    }

    /// The headers and body of a call. Synchronous, so its temporaries stay off the call's async frame.
    private func httpRequest(for request: ProviderRequest) throws -> (HTTPHeaders, ByteBuffer) {
        let body = try OpenAIWire.Request(request, defaultModel: self.model).encoded()
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "accept", value: request.stream ? "text/event-stream" : "application/json")
        if let apiKey { headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        return (headers, body)
    }

    private static func readWhole(_ body: ByteBuffer, secrets: Secrets, sink: any DeltaSink) async throws -> ProviderCompletion {
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
            try await sink.deliver(text)
        }
        return ProviderCompletion(finishReason: choice.finish_reason, usage: decoded.usage?.tokenUsage, model: decoded.model)
    }
}
