#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// Baidu ERNIE Bot v1 (`POST {base_url}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{model}?access_token=...`).
///
/// ERNIE reports errors as HTTP 200 with `error_code`, also in the middle of a stream, so every
/// event is checked. Invalid/expired tokens (110/111) are refreshed and the call retried once
/// (only when the token came from AK/SK and no text was delivered yet).
public struct ErnieProvider: Provider {
    /// How the provider authenticates.
    public enum Credentials: Sendable {
        /// API key (AK) and secret key (SK): tokens are fetched, cached and refreshed.
        case keys(apiKey: String, secretKey: String)
        /// A ready access token; a 110/111 answer is then final.
        case accessToken(String)
    }

    public let name: String
    private let baseURL: String
    private let model: String
    private let credentials: Credentials
    private let clients: HTTPClientShards
    private let logger: Logger
    private let tokens: ErnieTokenStore?

    /// - Parameters:
    ///   - httpClients: the process-wide clients; the provider never shuts them down.
    ///   - baseURL: e.g. `https://aip.baidubce.com`.
    ///   - model: the endpoint name used when the request names none, e.g. "completions", "completions_pro". Default: "completions".
    public init(
        httpClients: HTTPClientShards,
        baseURL: String,
        credentials: Credentials,
        model: String? = nil,
        name: String = "ernie",
        logger: Logger = Logger(label: "llmq.provider.ernie")
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.model = model ?? "completions"
        self.credentials = credentials
        self.clients = httpClients
        self.logger = logger
        self.name = name
        if case .keys(let apiKey, let secretKey) = credentials {
            self.tokens = ErnieTokenStore(client: httpClients.clients[0], baseURL: base, apiKey: apiKey, secretKey: secretKey)
        } else {
            self.tokens = nil
        }
    }

    /// A provider on one client the caller owns.
    public init(httpClient: HTTPClient, baseURL: String, credentials: Credentials, model: String? = nil, name: String = "ernie",
                logger: Logger = Logger(label: "llmq.provider.ernie")) {
        self.init(httpClients: HTTPClientShards(httpClient), baseURL: baseURL, credentials: credentials, model: model, name: name, logger: logger)
    }

    public func complete(
        _ request: ProviderRequest,
        timeouts: Timeouts,
        into sink: any DeltaSink
    ) async throws -> ProviderCompletion {
        let body: ByteBuffer
        do {
            body = try JSONCoding.encode(ErnieWire.Request(request))
        } catch {
            throw ProviderError(code: .badRequest, message: "cannot encode the request: \(error)")
        }
        var refreshed = false
        while true {
            let token = try await self.accessToken(timeouts: timeouts)
            let observed = ObservedSink(sink)
            do {
                return try await self.attempt(request, body: body, token: token, timeouts: timeouts, sink: observed)
            } catch let error as ProviderError where ErnieWire.isTokenError(error.providerCode) && !refreshed && !observed.delivered {
                guard let tokens = self.tokens else { throw error }
                self.logger.debug("ERNIE access token rejected, refreshing", metadata: ["error_code": "\(error.providerCode ?? 0)"])
                await tokens.invalidate(token)
                refreshed = true
            }
        }
    }

    private func accessToken(timeouts: Timeouts) async throws -> String {
        switch self.credentials {
        case .accessToken(let token):
            return token
        case .keys:
            do {
                return try await self.tokens!.token(timeout: timeouts.total)
            } catch let error as ProviderError {
                throw error
            } catch {
                throw ProviderError(code: .cancelled, message: "cancelled while fetching the access token")
            }
        }
    }

    private func secrets(token: String) -> Secrets {
        switch self.credentials {
        case .keys(let apiKey, let secretKey): Secrets([apiKey, secretKey, token])
        case .accessToken: Secrets([token])
        }
    }

    private func attempt(
        _ request: ProviderRequest,
        body: ByteBuffer,
        token: String,
        timeouts: Timeouts,
        sink: any DeltaSink
    ) async throws -> ProviderCompletion {
        let model = request.model ?? self.model
        // This URL holds the token: it goes to AsyncHTTPClient and nowhere else (no logs, no errors).
        let url = "\(self.baseURL)/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/\(model)?access_token=\(token)"
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        let secrets = self.secrets(token: token)
        let http = HTTPCall(clients: self.clients, secrets: secrets)
        let outcome = try await http.perform(
            url: url, headers: headers, body: body, timeouts: timeouts, streaming: request.stream,
            onSent: request.onRequestSent, onHead: request.onResponseHead,
            decoder: ErnieStreamDecoder(model: model, secrets: secrets), sink: sink)
        switch outcome {
        case .streamed(let completion):
            return completion
        case .whole(let status, let headers, let body):
            guard status == .ok else {
                if let event = try? JSONCoding.decode(ErnieWire.Event.self, from: body, using: JSONDecoder()),
                    let code = event.error_code, code != 0
                {
                    var error = ErnieWire.error(code: code, message: event.error_msg, secrets: secrets, partialUsage: nil)
                    error.httpStatus = Int(status.code)
                    throw error
                }
                throw OpenAIWire.statusError(status: Int(status.code), headers: headers, body: body, secrets: secrets)
            }
            // Non-streaming, or an error sent as plain JSON before any stream began.
            return try await Self.readWhole(body, model: model, secrets: secrets, sink: sink)
        }
    }

    private static func readWhole(
        _ body: ByteBuffer,
        model: String,
        secrets: Secrets,
        sink: any DeltaSink
    ) async throws -> ProviderCompletion {
        let decoded: ErnieWire.Event
        do {
            decoded = try JSONCoding.decode(ErnieWire.Event.self, from: body, using: JSONDecoder())
        } catch {
            throw HTTPCall.undecodable("response", snippet: secrets.snippet(body))
        }
        var decoder = ErnieStreamDecoder(model: model, secrets: secrets)
        var whole = decoded
        whole.is_end = true  // a non-streamed response is its own end
        if let text = try decoder.apply(whole), !text.isEmpty {
            try await sink.deliver(text)
        }
        return decoder.completion
    }
}
