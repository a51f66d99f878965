#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LLMQCore

/// Baidu ERNIE Bot v1 JSON shapes and error-code classification
/// (codes from ERNIE-SDK `erniebot/backends/bce.py` and bce-qianfan-sdk `consts.py`).
enum ErnieWire {
    struct Request: Encodable {
        var messages: [WireMessage]
        var stream: Bool
        var system: String?
        var temperature: Double?
        var top_p: Double?
        var max_output_tokens: Int?
        var stop: [String]?

        init(_ request: ProviderRequest) {
            // ERNIE takes the system prompt in its own field, not as a message.
            let system = request.messages.filter { $0.role == "system" }.map(\.content)
            self.messages = request.messages.filter { $0.role != "system" }.map { WireMessage(role: $0.role, content: $0.content) }
            self.system = system.isEmpty ? nil : system.joined(separator: "\n")
            self.stream = request.stream
            self.temperature = request.params.temperature
            self.top_p = request.params.topP
            self.max_output_tokens = request.params.maxTokens
            self.stop = request.params.stop
        }
    }

    /// A stream event, a whole response, or an error (HTTP 200 with `error_code`).
    struct Event: Decodable {
        var result: String?
        var is_end: Bool?
        var sentence_id: Int?
        var usage: WireUsage?
        var need_clear_history: Bool?
        var ban_round: Int?
        var finish_reason: String?
        var error_code: Int?
        var error_msg: String?
    }

    struct TokenResponse: Decodable {
        var access_token: String?
        var expires_in: Int?
        var error: String?
        var error_description: String?
    }

    /// Invalid (110) or expired (111) access token: refresh and retry once.
    static func isTokenError(_ code: Int?) -> Bool { code == 110 || code == 111 }

    /// Classifies an `error_code` (DESIGN.md "Providers").
    static func error(code: Int, message: String?, secrets: Secrets, partialUsage: JobResult.Usage?) -> ProviderError {
        let text = secrets.redact(message ?? "error_code \(code)")
        let kind: ProviderError.Code
        let retryable: Bool
        switch code {
        case 110, 111:
            (kind, retryable) = (.authentication, false)
        case 18, 336501, 336502:
            (kind, retryable) = (.rateLimited, true)
        case 336100, 2, 15:
            (kind, retryable) = (.providerError, true)
        case 17, 19:
            (kind, retryable) = (.quotaExceeded, false)
        case 336002, 336003, 336006, 336007, 336102:
            (kind, retryable) = (.badRequest, false)
        default:
            (kind, retryable) = (.providerError, false)
        }
        return ProviderError(code: kind, message: text, providerCode: code, isRetryable: retryable, partialUsage: partialUsage)
    }

    /// ERNIE says "normal" where OpenAI says "stop"; consumers get OpenAI's vocabulary.
    static func finishReason(_ event: Event, filtered: Bool) -> String {
        if filtered { return "content_filter" }
        switch event.finish_reason {
        case nil, "normal": return "stop"
        case let reason?: return reason
        }
    }
}
