import LLMQCore
import NIOHTTP1
import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenAI's JSON shapes and its error classification.
enum OpenAIWire {
    struct Request: Encodable {
        struct StreamOptions: Encodable { var include_usage: Bool }
        var model: String?
        var messages: [WireMessage]
        var stream: Bool
        var stream_options: StreamOptions?
        var max_tokens: Int?
        var temperature: Double?
        var top_p: Double?
        var stop: [String]?

        /// The body, written by hand: `JSONEncoder` was 3 % of a worker's CPU while thousands of
        /// calls started at once (issue 11). The same JSON as the `Encodable` conformance (a property
        /// test compares the two), with the members always in declaration order.
        func encoded() throws -> ByteBuffer {
            for (name, value) in [("temperature", temperature), ("top_p", top_p)] {
                if let value, !value.isFinite { throw ProviderError(code: .badRequest, message: "\(name) is not a finite number") }
            }
            var writer = JSONWriter(capacity: 256 + messages.reduce(0) { $0 + $1.content.utf8.count + $1.role.utf8.count + 32 })
            writer.beginObject()
            if let model { writer.string("model", model) }
            writer.beginArray("messages")
            for message in messages {
                writer.beginObject()
                writer.string("role", message.role)
                writer.string("content", message.content)
                writer.endObject()
            }
            writer.endArray()
            writer.bool("stream", stream)
            if let stream_options {
                writer.key("stream_options")
                writer.beginObject()
                writer.bool("include_usage", stream_options.include_usage)
                writer.endObject()
            }
            if let max_tokens { writer.int("max_tokens", max_tokens) }
            if let temperature { writer.double("temperature", temperature) }
            if let top_p { writer.double("top_p", top_p) }
            if let stop {
                writer.beginArray("stop")
                for text in stop { writer.string(text) }
                writer.endArray()
            }
            writer.endObject()
            return ByteBuffer(bytes: writer.bytes)
        }

        init(_ request: ProviderRequest, defaultModel: String?) {
            self.model = request.model ?? defaultModel
            self.messages = request.messages.map { WireMessage(role: $0.role, content: $0.content) }
            self.stream = request.stream
            self.stream_options = request.stream ? StreamOptions(include_usage: true) : nil
            self.max_tokens = request.params.maxTokens
            self.temperature = request.params.temperature
            self.top_p = request.params.topP
            self.stop = request.params.stop
        }
    }

    /// A stream chunk, a whole (non-streaming) response, or an error envelope: one shape for all three.
    struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Content: Decodable { var content: String? }
            var delta: Content?
            var message: Content?
            var finish_reason: String?
        }
        var model: String?
        var choices: [Choice]?
        var usage: WireUsage?
        var error: ErrorBody?
    }

    struct ErrorBody: Decodable {
        var message: String?
        var type: String?
        var code: LooseString?
    }

    struct ErrorEnvelope: Decodable {
        var error: ErrorBody
    }

    /// Classifies a non-200 response (DESIGN.md "What retries").
    static func statusError(status: Int, headers: HTTPHeaders, body: ByteBuffer, secrets: Secrets) -> ProviderError {
        let envelope = try? JSONCoding.decode(ErrorEnvelope.self, from: body, using: JSONDecoder())
        let code = envelope?.error.code?.value ?? ""
        let type = envelope?.error.type ?? ""
        let serverMessage = envelope?.error.message.map(secrets.redact) ?? secrets.snippet(body)
        let retryAfter = HTTPCall.retryAfter(headers)
        switch status {
        case 401, 403:
            // The server's text may quote part of the key ("Incorrect API key provided: sk-ab***yz"): leave it out.
            return ProviderError(code: .authentication, message: "authentication failed (\(type.isEmpty ? code : type))", httpStatus: status)
        case 429:
            if code == "insufficient_quota" || type == "insufficient_quota" {
                return ProviderError(code: .quotaExceeded, message: serverMessage, httpStatus: status, isRetryable: false)
            }
            return ProviderError(code: .rateLimited, message: serverMessage, httpStatus: status, retryAfter: retryAfter, isRetryable: true)
        case 400, 404, 422:
            if code.contains("content_filter") || code.contains("content_policy") {
                return ProviderError(code: .contentFilter, message: serverMessage, httpStatus: status, isRetryable: false)
            }
            return ProviderError(code: .badRequest, message: serverMessage, httpStatus: status, isRetryable: false)
        case 408, 409, 500...599:
            return ProviderError(code: .httpStatus, message: serverMessage, httpStatus: status, retryAfter: retryAfter, isRetryable: true)
        default:
            return ProviderError(code: .httpStatus, message: serverMessage, httpStatus: status, isRetryable: false)
        }
    }

    /// An `{"error": ...}` event inside a 200 stream (or body).
    static func streamError(_ error: ErrorBody, secrets: Secrets, partialUsage: JobResult.Usage?) -> ProviderError {
        let code = error.code?.value ?? ""
        let type = error.type ?? ""
        let message = secrets.redact(error.message ?? "error event")
        if code.contains("rate_limit") || type.contains("rate_limit") {
            return ProviderError(code: .rateLimited, message: message, isRetryable: true, partialUsage: partialUsage)
        }
        if code.contains("content_filter") || code.contains("content_policy") {
            return ProviderError(code: .contentFilter, message: message, isRetryable: false, partialUsage: partialUsage)
        }
        let transient = type == "server_error" || code == "server_error" || type == "overloaded_error"
        return ProviderError(code: .providerError, message: message, isRetryable: transient, partialUsage: partialUsage)
    }
}
