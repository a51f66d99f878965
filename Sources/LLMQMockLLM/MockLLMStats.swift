/// Counters of a running mock, for tests and the benchmark (also served as JSON by `GET /mock/stats`).
public struct MockLLMStats: Sendable, Hashable, Codable {
    /// Chat requests received (both formats, failures and refusals included).
    public var requests: Int
    /// ERNIE access-token requests received.
    public var tokenRequests: Int
    /// Chat requests being answered right now.
    public var activeStreams: Int
    /// The most chat requests ever answered at once.
    public var maxConcurrentStreams: Int
    /// Requests that got an injected fault.
    public var faultsInjected: Int
    /// Requests refused by the rate limit (`--requests-per-second`, `--tokens-per-second`): HTTP 429
    /// (ERNIE: error_code 18 or 336502). Injected `fail=429` faults are counted in `faultsInjected` instead.
    public var throttled: Int
    /// Requests refused because the quota (`--quota-requests`) was used up: 429 `insufficient_quota` (ERNIE: 17).
    public var quotaRefused: Int

    public init(
        requests: Int = 0, tokenRequests: Int = 0, activeStreams: Int = 0, maxConcurrentStreams: Int = 0, faultsInjected: Int = 0,
        throttled: Int = 0, quotaRefused: Int = 0
    ) {
        self.requests = requests
        self.tokenRequests = tokenRequests
        self.activeStreams = activeStreams
        self.maxConcurrentStreams = maxConcurrentStreams
        self.faultsInjected = faultsInjected
        self.throttled = throttled
        self.quotaRefused = quotaRefused
    }

    enum CodingKeys: String, CodingKey {
        case requests
        case tokenRequests = "token_requests"
        case activeStreams = "active_streams"
        case maxConcurrentStreams = "max_concurrent_streams"
        case faultsInjected = "faults_injected"
        case throttled
        case quotaRefused = "quota_refused"
    }
}
