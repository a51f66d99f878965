/// Faults the mock injects, set server-wide (`MockLLMConfiguration.faults`) or per request by a
/// `[[mock ...]]` directive (see `MockDirective`). nil means "off".
public struct MockFaults: Sendable, Hashable {
    /// Answer with this HTTP status and an OpenAI-style error body. Default: nil.
    public var failStatus: Int?
    /// `error.code` in that body (e.g. "insufficient_quota"). Default: nil.
    public var failCode: String?
    /// Seconds for a `Retry-After` header on failures. Default: nil.
    public var retryAfterSeconds: Int?
    /// Only the first N requests with the same prompt get the faults; later ones succeed. Default: nil (all).
    public var failTimes: Int?
    /// End the stream cleanly after K deltas, without the terminal event. Default: nil.
    public var cutAfter: Int?
    /// After K deltas send an event whose data is not JSON. Default: nil.
    public var malformedAfter: Int?
    /// Stop sending and keep the connection open: before the first event or after the first delta. Default: nil.
    public var hang: Hang?
    /// ERNIE `error_code` to answer with (HTTP 200). Default: nil.
    public var ernieError: Int?
    /// Send the error (`ernieError`, or an OpenAI error event when `failStatus` is set) mid-stream after K deltas. Default: nil.
    public var errorAfter: Int?
    /// End as a safety refusal (OpenAI finish_reason content_filter, ERNIE need_clear_history). Default: false.
    public var contentFilter: Bool

    public enum Hang: String, Sendable, Hashable {
        case first, mid
    }

    public init(
        failStatus: Int? = nil,
        failCode: String? = nil,
        retryAfterSeconds: Int? = nil,
        failTimes: Int? = nil,
        cutAfter: Int? = nil,
        malformedAfter: Int? = nil,
        hang: Hang? = nil,
        ernieError: Int? = nil,
        errorAfter: Int? = nil,
        contentFilter: Bool = false
    ) {
        self.failStatus = failStatus
        self.failCode = failCode
        self.retryAfterSeconds = retryAfterSeconds
        self.failTimes = failTimes
        self.cutAfter = cutAfter
        self.malformedAfter = malformedAfter
        self.hang = hang
        self.ernieError = ernieError
        self.errorAfter = errorAfter
        self.contentFilter = contentFilter
    }

    /// True when no fault is set (the counter-gated ones, `failTimes` aside).
    var isEmpty: Bool {
        self.failStatus == nil && self.cutAfter == nil && self.malformedAfter == nil && self.hang == nil
            && self.ernieError == nil && !self.contentFilter
    }
}
