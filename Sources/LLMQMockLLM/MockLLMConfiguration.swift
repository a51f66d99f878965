/// Settings of the provider stand-in.
public struct MockLLMConfiguration: Sendable {
    /// Address to bind. Default: "127.0.0.1".
    public var host: String
    /// Port to bind; 0 picks a free one (learn it with `MockLLMServer.listeningPort()`). Default: 8089.
    public var port: Int
    /// Words per reply, unless a directive says otherwise. Default: 50.
    public var words: Int
    /// Wait after the response head before the first event. Default: 0.
    public var firstChunkDelay: Duration
    /// Wait between events. Default: 0.
    public var gap: Duration
    /// Faults applied to every request (a directive overrides them field by field). Default: none.
    public var faults: MockFaults
    /// Start every delta with `@<unix wall-clock microseconds when written>|` for latency measurement. Default: false.
    public var stampDeltas: Bool
    /// ERNIE API key / secret key the token endpoint accepts; nil accepts any non-empty pair. Default: nil.
    public var ernieCredentials: (apiKey: String, secretKey: String)?
    /// An ERNIE access token accepted without being issued (for providers given a token). Default: "mock-static-token".
    public var ernieStaticToken: String
    /// Listen backlog; the benchmark opens thousands of connections at once. Default: 4096.
    public var backlog: Int
    /// Chat requests per second for all callers together (a token bucket holding one second's worth,
    /// see `MockRateLimiter`); beyond it, HTTP 429 with Retry-After. nil or 0: no limit. Default: nil.
    public var requestsPerSecond: Int?
    /// Tokens per second for all callers together (a request costs its prompt's words plus `max_tokens`,
    /// else its reply's words); same bucket model. nil or 0: no limit. Default: nil.
    public var tokensPerSecond: Int?
    /// After this many admitted chat requests, answer 429 `insufficient_quota` (no Retry-After) until
    /// the quota is reset (`POST /mock/quota/reset`, `MockLLMServer.resetQuota`). nil: no quota. Default: nil.
    public var quotaRequests: Int?
    /// With no gap between events and no stream fault, write a reply's events in one write, as a
    /// provider whose events arrive many to a read (the benchmark's drain uses it to separate a
    /// worker's cost per read from its cost per event). Default: false, a write per event.
    public var oneWrite: Bool

    public init(
        host: String = "127.0.0.1",
        port: Int = 8089,
        words: Int = 50,
        firstChunkDelay: Duration = .zero,
        gap: Duration = .zero,
        faults: MockFaults = MockFaults(),
        stampDeltas: Bool = false,
        ernieCredentials: (apiKey: String, secretKey: String)? = nil,
        ernieStaticToken: String = "mock-static-token",
        backlog: Int = 4096,
        requestsPerSecond: Int? = nil,
        tokensPerSecond: Int? = nil,
        quotaRequests: Int? = nil,
        oneWrite: Bool = false
    ) {
        self.host = host
        self.port = port
        self.words = words
        self.firstChunkDelay = firstChunkDelay
        self.gap = gap
        self.faults = faults
        self.stampDeltas = stampDeltas
        self.ernieCredentials = ernieCredentials
        self.ernieStaticToken = ernieStaticToken
        self.backlog = backlog
        self.requestsPerSecond = requestsPerSecond
        self.tokensPerSecond = tokensPerSecond
        self.quotaRequests = quotaRequests
        self.oneWrite = oneWrite
    }
}
