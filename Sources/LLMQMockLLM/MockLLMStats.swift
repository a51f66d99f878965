/// Counters of a running mock, for tests and the benchmark.
public struct MockLLMStats: Sendable, Hashable {
    /// Chat requests received (both formats, failures included).
    public var requests: Int
    /// ERNIE access-token requests received.
    public var tokenRequests: Int
    /// Chat requests being answered right now.
    public var activeStreams: Int
    /// The most chat requests ever answered at once.
    public var maxConcurrentStreams: Int
    /// Requests that got an injected fault.
    public var faultsInjected: Int

    public init(requests: Int = 0, tokenRequests: Int = 0, activeStreams: Int = 0, maxConcurrentStreams: Int = 0, faultsInjected: Int = 0) {
        self.requests = requests
        self.tokenRequests = tokenRequests
        self.activeStreams = activeStreams
        self.maxConcurrentStreams = maxConcurrentStreams
        self.faultsInjected = faultsInjected
    }
}
