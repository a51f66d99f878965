import LLMQCore
import LLMQKafka
import LLMQProviders
import Logging
import Synchronization

/// Decides when this replica may call the provider, so that a group of replicas stays within the
/// account's limits using nothing but Kafka:
///
/// - **Budgets shared by the group.** `provider.requests_per_minute` and `provider.tokens_per_minute`
///   are the account's limits. This replica spends its share of them: its share of the jobs topics'
///   partitions, which the group's assignor hands out and every rebalance changes (`setShare`).
///   Shares of all members add up to at most 1 (under cooperative rebalancing a partition is
///   revoked before it is assigned elsewhere), so the group never plans more than the limit.
///   Tokens are estimated before a call (`estimatedTokens`) and reconciled with the usage reported.
/// - **Adaptive concurrency** (`AdaptiveConcurrency`): the in-flight limit falls on 429s, 503s,
///   timeouts and rising first-chunk latency, and grows slowly on success. The worker leases no
///   more jobs than the limit (`onLeaseLimit`), so a lowered limit pauses its partitions as a full
///   worker's are.
/// - **Limits learned from the provider.** With no budget configured, a provider that states its
///   limits (`x-ratelimit-limit-requests`/`-tokens`, per minute, as OpenAI does) gets the same
///   shared budget from them, so replicas pace their calls instead of finding the limit by 429s.
/// - **Replica-wide pauses.** `Retry-After`, and a limit whose `x-ratelimit-remaining-*` reached
///   zero, hold every new call until the time given, not only the job that saw them.
/// - **Quota.** An exhausted quota (OpenAI `insufficient_quota`, ERNIE 17/19) lowers the lease
///   limit to 1 and lets one call through every `provider.quota_probe_ms` until one succeeds.
///   A job that cannot wait for the next probe within its time calls at once instead of failing
///   untried; any success ends the pause.
///
/// Every wait is bounded by what the caller may spend (the job's time budget); a wait that cannot
/// fit ends the call with the throttle's own error, without a call made.
public final class ProviderGovernor: Sendable {
    public struct Settings: Sendable, Hashable {
        public var requestsPerMinute: Int?
        public var tokensPerMinute: Int?
        /// Whether the in-flight limit adapts; when false it stays at `maxConcurrency`.
        public var adaptive: Bool
        /// `worker.concurrency`: the limit never goes above it.
        public var maxConcurrency: Int
        /// Where adaptive concurrency starts (it doubles each round until the provider pushes back).
        public var initialConcurrency: Int
        /// How often a call may test an exhausted quota.
        public var quotaProbeInterval: Duration

        public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, adaptive: Bool = true, maxConcurrency: Int,
                    initialConcurrency: Int? = nil, quotaProbeInterval: Duration = .seconds(15)) {
            self.requestsPerMinute = requestsPerMinute
            self.tokensPerMinute = tokensPerMinute
            self.adaptive = adaptive
            self.maxConcurrency = max(1, maxConcurrency)
            self.initialConcurrency = min(self.maxConcurrency, initialConcurrency ?? 8)
            self.quotaProbeInterval = quotaProbeInterval
        }
    }

    /// Leave to make one call; hand it back through `finished`.
    public struct Permit: Sendable {
        /// Tokens reserved for the call (0 without a token budget).
        let reservedTokens: Int
        /// This call tests an exhausted quota.
        let probe: Bool
    }

    /// How a call ended, as far as the provider's limits are concerned.
    public enum CallOutcome: Sendable {
        /// `firstChunk`: how long the first chunk took, if one came (then `firstChunkArrived` was told).
        case succeeded(usedTokens: Int?, firstChunk: Duration?)
        /// A 429 or a provider rate-limit code.
        case throttled(retryAfter: Duration?)
        /// A 503, a 529 or a timeout: the provider is overloaded.
        case overloaded
        case quotaExhausted
        /// Anything else (bad request, broken stream, cancelled): says nothing about the limits.
        case other

        public init(_ error: any Error) {
            guard let error = error as? ProviderError else { self = .other; return }
            switch error.code {
            case .rateLimited: self = .throttled(retryAfter: error.retryAfter)
            case .quotaExceeded: self = .quotaExhausted
            case .timeoutConnect, .timeoutFirstChunk, .timeoutTotal: self = .overloaded
            default: self = error.httpStatus == 503 || error.httpStatus == 529 ? .overloaded : .other
            }
        }
    }

    private struct Quota {
        var nextProbe: Duration
        var probeOut = false
    }

    private struct State {
        /// The configured budgets or, for a limit not configured, the one the provider stated.
        var requests: RateBudget?
        var tokens: RateBudget?
        var concurrency: AdaptiveConcurrency
        var pausedUntil: Duration = .zero
        var quota: Quota?
        var publishedLimit: Int
        /// This replica's share of the jobs partitions.
        var share: Double = 1
    }

    public let settings: Settings
    private let state: Mutex<State>
    private let now: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void
    private let metrics: WorkerMetrics
    private let logger: Logger
    /// Told the number of jobs the worker may hold, each time it changes.
    private let leaseLimitListener = Mutex<(@Sendable (Int) -> Void)?>(nil)

    public convenience init(settings: Settings, metrics: WorkerMetrics, logger: Logger) {
        self.init(settings: settings, metrics: metrics, logger: logger, clock: ContinuousClock())
    }

    init<C: Clock>(settings: Settings, metrics: WorkerMetrics, logger: Logger, clock: C) where C.Duration == Duration {
        let origin = clock.now
        let now: @Sendable () -> Duration = { origin.duration(to: clock.now) }
        self.settings = settings
        self.now = now
        self.sleep = { try await clock.sleep(until: origin.advanced(by: now() + $0), tolerance: nil) }
        self.metrics = metrics
        self.logger = logger
        let start = now()
        let concurrency = AdaptiveConcurrency(initial: settings.adaptive ? settings.initialConcurrency : settings.maxConcurrency,
                                              maximum: settings.maxConcurrency)
        state = Mutex(State(requests: settings.requestsPerMinute.map { RateBudget(perMinute: $0, now: start) },
                            tokens: settings.tokensPerMinute.map { RateBudget(perMinute: $0, now: start) },
                            concurrency: concurrency, publishedLimit: concurrency.limit))
        metrics.concurrencyLimit.record(concurrency.limit)
        metrics.budgetShare.record(1)
    }

    /// Jobs the worker may hold now.
    public var leaseLimit: Int { state.withLock { Self.leaseLimit($0) } }

    /// Calls `listener` with the lease limit now and whenever it changes.
    public func onLeaseLimit(_ listener: @escaping @Sendable (Int) -> Void) {
        leaseLimitListener.withLock { $0 = listener }
        listener(leaseLimit)
    }

    /// This replica's share of the budgets: `assigned` of the jobs topics' `total` partitions.
    /// A replica with none keeps one partition's worth, for jobs still finishing after a revoke.
    public func setShare(assigned: Int, total: Int) {
        let share = Double(max(1, assigned)) / Double(max(1, total))
        let t = now()
        state.withLock { state in
            state.share = share
            state.requests?.setShare(share, now: t)
            state.tokens?.setShare(share, now: t)
        }
        metrics.budgetShare.record(share)
    }

    /// A call's token cost before it is made: its prompt (about 4 characters a token, as
    /// OpenAI's guidance estimates English) plus the completion it may ask for (`max_tokens`).
    public static func estimatedTokens(_ request: ProviderRequest) -> Int {
        let characters = request.messages.reduce(0) { $0 + $1.content.utf8.count + $1.role.utf8.count }
        return max(1, characters / 4 + 4 * request.messages.count) + (request.params.maxTokens ?? 0)
    }

    /// Waits until the call may be made: a share of each budget reserved in arrival order, no
    /// replica-wide pause, and (while the quota is exhausted) the next probe. Throws the throttle's
    /// error, without waiting, when that would take longer than `limit`; throws `.cancelled` when
    /// the task is cancelled while waiting.
    public func acquire(tokens: Int, within limit: Duration) async throws -> Permit {
        let start = now()
        let deadline = start + limit
        let (reservedUntil, reservedTokens) = state.withLock { state -> (Duration, Int) in
            let requestsWait = state.requests?.reserve(1, now: start) ?? .zero
            let tokensWait = state.tokens?.reserve(Double(tokens), now: start)
            return (start + max(requestsWait, tokensWait ?? .zero), tokensWait == nil ? 0 : tokens)
        }
        var waited = false
        defer { if waited { metrics.budgetWait.record(duration: now() - start) } }
        while true {
            let t = now()
            let (wait, probe, cause) = state.withLock { state -> (Duration, Bool, ProviderError.Code) in
                if var quota = state.quota {
                    if !quota.probeOut, t >= quota.nextProbe {
                        quota.probeOut = true
                        state.quota = quota
                        return (.zero, true, .quotaExceeded)
                    }
                    // A job that cannot wait for the next probe makes its own call rather than
                    // fail untried: the quota error may have been another job's alone.
                    if max(quota.nextProbe, t) > deadline { return (.zero, false, .quotaExceeded) }
                    // Look again at least every second: a probe may succeed meanwhile.
                    return (min(.seconds(1), max(quota.nextProbe - t, .milliseconds(100))), false, .quotaExceeded)
                }
                let until = max(reservedUntil, state.pausedUntil)
                return (max(.zero, until - t), false, .rateLimited)
            }
            if wait == .zero { return Permit(reservedTokens: reservedTokens, probe: probe) }
            if t + wait > deadline {
                refund(tokens: reservedTokens)
                throw ProviderError(code: cause, message: cause == .quotaExceeded
                    ? "the provider's quota is exhausted, and the job's time ran out waiting for it to return"
                    : "waiting for the provider's rate budget would pass the job's time limit", isRetryable: false)
            }
            waited = true
            do {
                try await sleep(wait)
            } catch {
                refund(tokens: reservedTokens)
                throw ProviderError(code: .cancelled, message: "cancelled while waiting for the provider's budget")
            }
        }
    }

    /// Learns from a response head: `Retry-After` on a 429 or 503 and exhausted `x-ratelimit-*`
    /// limits pause every new call of this replica until the time they name.
    public func observe(_ head: RateLimitHeaders) {
        let t = now()
        let (paused, remaining) = state.withLock { state -> (Bool, (Int?, Int?)) in
            if settings.requestsPerMinute == nil { Self.learn(head.limitRequests, into: &state.requests, share: state.share, now: t) }
            if settings.tokensPerMinute == nil { Self.learn(head.limitTokens, into: &state.tokens, share: state.share, now: t) }
            guard let hold = head.holdOff, t + hold > state.pausedUntil else { return (false, (head.remainingRequests, head.remainingTokens)) }
            state.pausedUntil = t + hold
            return (true, (head.remainingRequests, head.remainingTokens))
        }
        if let requests = remaining.0, settings.requestsPerMinute == nil { metrics.budgetRemaining("requests", Double(requests)) }
        if let tokens = remaining.1, settings.tokensPerMinute == nil { metrics.budgetRemaining("tokens", Double(tokens)) }
        if paused {
            let reason = head.status == 429 || head.status == 503 ? "retry_after" : "limit_reset"
            metrics.providerPause(reason: reason)
            logger.debug("provider calls paused", metadata: ["reason": "\(reason)", "hold_ms": "\(head.holdOff?.wholeMilliseconds ?? 0)"])
        }
    }

    /// The call's first chunk arrived `latency` after it started: the provider accepted it. This is
    /// adaptive concurrency's success signal, so a round of growth lasts a time to first chunk,
    /// not a whole (possibly minutes long) generation.
    public func firstChunkArrived(after latency: Duration) {
        guard settings.adaptive else { return }
        let t = now()
        let change = state.withLock { state in
            state.concurrency.succeeded(firstChunk: latency, now: t)
            return takeLeaseLimitChange(&state)
        }
        announce(change)
    }

    /// Hands the permit back with what the call's outcome says about the provider's limits.
    public func finished(_ permit: Permit, _ outcome: CallOutcome) {
        let t = now()
        var log: (Logger.Level, String)?
        let (change, remaining) = state.withLock { state -> (LeaseLimitChange?, (Double?, Double?)) in
            switch outcome {
            case .succeeded(let used, let firstChunk):
                if let used, permit.reservedTokens > 0 { state.tokens?.adjust(by: Double(permit.reservedTokens - used), now: t) }
                // A call with a first chunk already counted as accepted (`firstChunkArrived`).
                if settings.adaptive, firstChunk == nil { state.concurrency.succeeded(firstChunk: nil, now: t) }
                if state.quota != nil {
                    state.quota = nil
                    log = (.notice, "provider quota available again; consumption resumes")
                }
            case .throttled(let retryAfter):
                if settings.adaptive { state.concurrency.congested(now: t) }
                state.pausedUntil = max(state.pausedUntil, t + (retryAfter ?? .seconds(1)))
            case .overloaded:
                if settings.adaptive { state.concurrency.congested(now: t) }
            case .quotaExhausted:
                if state.quota == nil {
                    log = (.warning, "provider quota exhausted; consumption paused, one call every \(settings.quotaProbeInterval) tests for recovery")
                }
                state.quota = Quota(nextProbe: t + settings.quotaProbeInterval)
            case .other:
                if permit.probe, state.quota != nil { state.quota = Quota(nextProbe: t + settings.quotaProbeInterval) }
            }
            // A probe that did not answer the question lets the next one try.
            if permit.probe, state.quota != nil { state.quota!.probeOut = false }
            return (takeLeaseLimitChange(&state), (state.requests?.available(now: t), state.tokens?.available(now: t)))
        }
        if case .throttled = outcome { metrics.throttled.increment() }
        if let requests = remaining.0 { metrics.budgetRemaining("requests", max(0, requests)) }
        if let tokens = remaining.1 { metrics.budgetRemaining("tokens", max(0, tokens)) }
        if let (level, message) = log {
            logger.log(level: level, "\(message)")
            metrics.quotaExhausted.record(level == .warning ? 1 : 0)
            if level == .warning { metrics.providerPause(reason: "quota") }
        }
        announce(change)
    }

    /// A new lease limit and who to tell, taken under the state's lock, told outside it.
    private struct LeaseLimitChange {
        var limit: Int
        var listener: (@Sendable (Int) -> Void)?
    }

    /// The lease limit, when it changed since it was last published.
    private func takeLeaseLimitChange(_ state: inout State) -> LeaseLimitChange? {
        let limit = Self.leaseLimit(state)
        guard limit != state.publishedLimit else { return nil }
        state.publishedLimit = limit
        return LeaseLimitChange(limit: limit, listener: leaseLimitListener.withLock { $0 })
    }

    private func announce(_ change: LeaseLimitChange?) {
        guard let change else { return }
        metrics.concurrencyLimit.record(change.limit)
        logger.debug("provider concurrency limit changed", metadata: ["limit": "\(change.limit)"])
        change.listener?(change.limit)
    }

    /// A limit the provider stated (per minute) becomes the budget, starting empty: the calls that
    /// stated it already spent what the provider's bucket held. The same limit again changes nothing.
    private static func learn(_ perMinute: Int?, into budget: inout RateBudget?, share: Double, now: Duration) {
        guard let perMinute, perMinute > 0, budget?.perMinute != Double(perMinute) else { return }
        budget = RateBudget(perMinute: perMinute, share: share, now: now, startEmpty: true)
    }

    private func refund(tokens: Int) {
        let t = now()
        state.withLock { state in
            state.requests?.adjust(by: 1, now: t)
            if tokens > 0 { state.tokens?.adjust(by: Double(tokens), now: t) }
        }
    }

    /// While the quota is exhausted one job is held (it carries the probes); otherwise the concurrency limit.
    private static func leaseLimit(_ state: State) -> Int {
        state.quota == nil ? state.concurrency.limit : 1
    }
}
