import LLMQCore

/// A failed provider call: a stable `code` (safe as a metric label) plus context.
///
/// Descriptions never contain API keys, secret keys or access tokens: providers build messages
/// from their own text and scrub anything the server echoes with `Secrets.redact`.
public struct ProviderError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. Raw values are snake_case and stable.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { self.rawValue }

        /// Could not connect, or the connection failed before the response began.
        public static let connection = Code("connection")
        public static let timeoutConnect = Code("timeout_connect")
        public static let timeoutFirstChunk = Code("timeout_first_chunk")
        public static let timeoutIdle = Code("timeout_idle")
        public static let timeoutTotal = Code("timeout_total")
        /// An HTTP status not covered by a more specific code.
        public static let httpStatus = Code("http_status")
        /// HTTP 429 or a provider rate-limit code.
        public static let rateLimited = Code("rate_limited")
        /// The provider reported an error (in the body, possibly mid-stream).
        public static let providerError = Code("provider_error")
        /// The stream ended (or the connection dropped) before its terminal event.
        public static let streamInterrupted = Code("stream_interrupted")
        /// An event or body could not be decoded: a broken stream, retried like an interrupted one.
        public static let malformedEvent = Code("malformed_event")
        /// Bad or expired credentials (401/403, ERNIE 110/111 after a refresh, token fetch refused).
        public static let authentication = Code("authentication")
        /// The request was rejected as invalid (400/404/422, ERNIE 336xxx request errors).
        public static let badRequest = Code("bad_request")
        /// The provider refused the content.
        public static let contentFilter = Code("content_filter")
        /// The calling task was cancelled.
        public static let cancelled = Code("cancelled")
        /// A daily/total quota is used up (ERNIE 17/19, OpenAI insufficient_quota).
        public static let quotaExceeded = Code("quota_exceeded")
    }

    public var code: Code
    /// Human-readable context; never contains secrets.
    public var message: String
    public var httpStatus: Int?
    /// The provider's own numeric error code (ERNIE `error_code`).
    public var providerCode: Int?
    /// How long the provider asked us to wait (Retry-After), if it did.
    public var retryAfter: Duration?
    public var isRetryable: Bool
    /// Usage reported before the failure, if any.
    public var partialUsage: JobResult.Usage?
    /// The provider and model that failed when a decorator chose them (`FallbackProvider`); nil: the provider called.
    public var provider: String? = nil
    public var model: String? = nil

    public init(
        code: Code,
        message: String,
        httpStatus: Int? = nil,
        providerCode: Int? = nil,
        retryAfter: Duration? = nil,
        isRetryable: Bool? = nil,
        partialUsage: JobResult.Usage? = nil
    ) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.providerCode = providerCode
        self.retryAfter = retryAfter
        self.isRetryable = isRetryable ?? Self.retryableByDefault(code)
        self.partialUsage = partialUsage
    }

    /// Connection trouble, timeouts, rate limits and broken streams (interrupted, or carrying an
    /// event that cannot be decoded) are worth another attempt: each retry is a new stream.
    public static func retryableByDefault(_ code: Code) -> Bool {
        switch code {
        case .connection, .timeoutConnect, .timeoutFirstChunk, .timeoutIdle, .timeoutTotal,
            .rateLimited, .streamInterrupted, .malformedEvent:
            return true
        default:
            return false
        }
    }

    public var description: String {
        var text = "\(self.code.rawValue): \(self.message)"
        if let httpStatus { text += " (http \(httpStatus))" }
        if let providerCode { text += " (provider code \(providerCode))" }
        return text
    }
}
