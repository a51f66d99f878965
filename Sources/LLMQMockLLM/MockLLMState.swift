import Synchronization

/// Everything the handlers share: counters, per-prompt attempt counts, issued tokens, the port.
/// A `Mutex` rather than an actor: each touch is a few integer updates on the request path.
final class MockLLMState: Sendable {
    private struct State {
        var stats = MockLLMStats()
        var attemptsByPrompt: [String: Int] = [:]
        var issuedTokens: Set<String> = []
        var port: Int?
        var portWaiters: [CheckedContinuation<Int, any Error>] = []
        var startFailure: (any Error)?
        var shuttingDown = false
        var limiter: MockRateLimiter
        /// Admissions left before `insufficient_quota`; nil: no quota.
        var quotaLeft: Int?
    }

    /// What the limits decided for one chat request.
    enum Admission: Sendable {
        case admitted(MockRateLimiter.Decision)
        case throttled(MockRateLimiter.Decision)
        case quotaExceeded(MockRateLimiter.Decision)
    }

    private let state: Mutex<State>

    init(limiter: MockRateLimiter = MockRateLimiter(requestsPerSecond: nil, tokensPerSecond: nil), quota: Int? = nil) {
        self.state = Mutex(State(limiter: limiter, quotaLeft: quota))
    }

    var stats: MockLLMStats { self.state.withLock { $0.stats } }
    var isShuttingDown: Bool { self.state.withLock { $0.shuttingDown } }

    /// Counts a chat request and returns how many requests this prompt has had, this one included.
    func chatRequest(prompt: String) -> Int {
        self.state.withLock { state in
            state.stats.requests += 1
            state.attemptsByPrompt[prompt, default: 0] += 1
            return state.attemptsByPrompt[prompt]!
        }
    }

    /// Runs one chat request through the quota, then the rate limit (a refusal takes nothing from either).
    /// A refused request is counted in `requests` here (an admitted one by `chatRequest`), and not per
    /// prompt: it does not count towards a directive's `fail_times`.
    func admit(tokens: Int, at now: Duration) -> Admission {
        self.state.withLock { state in
            if let left = state.quotaLeft, left <= 0 {
                state.stats.requests += 1
                state.stats.quotaRefused += 1
                // A quota refusal spends no rate limit; its headers report the limits as they are.
                return .quotaExceeded(state.limiter.peek(at: now))
            }
            let decision = state.limiter.admit(tokens: tokens, at: now)
            guard decision.admitted else {
                state.stats.requests += 1
                state.stats.throttled += 1
                return .throttled(decision)
            }
            state.quotaLeft = state.quotaLeft.map { $0 - 1 }
            return .admitted(decision)
        }
    }

    /// Sets the admissions left before `insufficient_quota` (nil: no quota).
    func setQuota(_ requests: Int?) { self.state.withLock { $0.quotaLeft = requests } }

    func faultInjected() { self.state.withLock { $0.stats.faultsInjected += 1 } }

    func streamStarted() {
        self.state.withLock { state in
            state.stats.activeStreams += 1
            state.stats.maxConcurrentStreams = max(state.stats.maxConcurrentStreams, state.stats.activeStreams)
        }
    }

    func streamEnded() { self.state.withLock { $0.stats.activeStreams -= 1 } }

    func resetMaxConcurrent() { self.state.withLock { $0.stats.maxConcurrentStreams = $0.stats.activeStreams } }

    func issueToken() -> String {
        self.state.withLock { state in
            state.stats.tokenRequests += 1
            let token = "mock-ernie-token-\(state.stats.tokenRequests)"
            state.issuedTokens.insert(token)
            return token
        }
    }

    func tokenRequestRefused() { self.state.withLock { $0.stats.tokenRequests += 1 } }

    func isIssued(_ token: String) -> Bool { self.state.withLock { $0.issuedTokens.contains(token) } }

    func listening(on port: Int) {
        let waiters = self.state.withLock { state in
            state.port = port
            defer { state.portWaiters = [] }
            return state.portWaiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func stopped(_ error: (any Error)?) {
        let waiters = self.state.withLock { state in
            state.shuttingDown = true
            state.startFailure = error ?? CancellationError()
            defer { state.portWaiters = [] }
            return state.portWaiters
        }
        for waiter in waiters { waiter.resume(throwing: error ?? CancellationError()) }
    }

    func beginShutdown() { self.state.withLock { $0.shuttingDown = true } }

    func port() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let immediate: Result<Int, any Error>? = self.state.withLock { state in
                if let port = state.port { return .success(port) }
                if let failure = state.startFailure { return .failure(failure) }
                state.portWaiters.append(continuation)
                return nil
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }
}

/// Counts one in-flight chat request for as long as its response (and streaming body) lives,
/// however it ends: the body closure owns it, so its release marks the end.
final class StreamTicket: Sendable {
    private let state: MockLLMState

    init(_ state: MockLLMState) {
        self.state = state
        state.streamStarted()
    }

    deinit { self.state.streamEnded() }
}
