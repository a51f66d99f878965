/// The stand-in's rate limits, one for the whole server (every caller shares them), modelled on
/// how real providers enforce theirs: a token bucket per limit.
///
/// Each bucket holds at most one second of its rate (requests: `requestsPerSecond`; tokens:
/// `tokensPerSecond`), starts full and refills continuously at the rate. A request is admitted
/// only when every bucket holds its cost (1 request; its estimated tokens), and then takes the
/// cost from each; a refused request takes nothing. So a burst of up to one second's worth passes
/// at once, and after that admissions follow the rate. A request costing more tokens than a second
/// holds is charged the whole bucket: it waits until the bucket is full.
///
/// A pure value: time comes in as `now` (any monotonic origin), so tests drive it without a clock.
public struct MockRateLimiter: Sendable, Hashable {
    /// Which limit refused a request (OpenAI's `error.type` of a 429: "requests" or "tokens").
    public enum Limit: String, Sendable, Hashable {
        case requests, tokens
    }

    /// One limit's state, as the `x-ratelimit-*` headers report it (`limit` × 60: they state it per minute).
    public struct Status: Sendable, Hashable {
        /// The bucket's capacity: one second of the rate.
        public var limit: Int
        /// Whole units left in the bucket.
        public var remaining: Int
        /// Until the bucket is full again.
        public var reset: Duration

        public init(limit: Int, remaining: Int, reset: Duration) {
            self.limit = limit
            self.remaining = remaining
            self.reset = reset
        }
    }

    /// What `admit` decided, with the limits' state after the decision.
    public struct Decision: Sendable, Hashable {
        /// The limit that refused the request; nil when admitted.
        public var refusedBy: Limit?
        /// When refused: how long until the request would be admitted (if nothing else arrives).
        public var retryAfter: Duration
        public var requests: Status?
        public var tokens: Status?

        public var admitted: Bool { self.refusedBy == nil }
    }

    struct Bucket: Sendable, Hashable {
        let rate: Double
        var level: Double
        var updated: Duration

        init(rate: Int) {
            self.rate = Double(rate)
            self.level = Double(rate)
            self.updated = .zero
        }

        mutating func refill(to now: Duration) {
            guard now > self.updated else { return }
            self.level = min(self.rate, self.level + self.rate * (now - self.updated).inSeconds)
            self.updated = now
        }

        mutating func take(_ cost: Double) {
            self.level = max(0, self.level - cost)
        }

        /// Time until the bucket holds `cost`, in whole microseconds. A deficit of at most a
        /// microsecond's refill counts as none, so a caller that waits exactly this long is admitted
        /// despite floating-point rounding.
        func wait(for cost: Double) -> Duration {
            let deficit = cost - self.level
            guard deficit > self.rate / 1_000_000 else { return .zero }
            return .microseconds(Int64((deficit / self.rate * 1_000_000).rounded()))
        }

        var status: Status {
            Status(limit: Int(self.rate), remaining: Int((self.level + 1e-9).rounded(.down)), reset: self.wait(for: self.rate))
        }
    }

    var requests: Bucket?
    var tokens: Bucket?

    /// - Parameters:
    ///   - requestsPerSecond: requests per second for all callers together; nil or 0: no request limit.
    ///   - tokensPerSecond: tokens (prompt + completion estimate) per second; nil or 0: no token limit.
    public init(requestsPerSecond: Int?, tokensPerSecond: Int?) {
        self.requests = requestsPerSecond.flatMap { $0 > 0 ? Bucket(rate: $0) : nil }
        self.tokens = tokensPerSecond.flatMap { $0 > 0 ? Bucket(rate: $0) : nil }
    }

    /// True when some limit is set.
    public var isLimiting: Bool { self.requests != nil || self.tokens != nil }

    /// Admits one request costing `tokens` at time `now`, or refuses it (taking nothing).
    public mutating func admit(tokens cost: Int, at now: Duration) -> Decision {
        self.requests?.refill(to: now)
        self.tokens?.refill(to: now)
        let tokenCost = self.tokens.map { min(Double(max(0, cost)), $0.rate) } ?? 0
        let requestWait = self.requests?.wait(for: 1) ?? .zero
        let tokenWait = self.tokens?.wait(for: tokenCost) ?? .zero
        var decision = Decision(refusedBy: nil, retryAfter: max(requestWait, tokenWait))
        if requestWait > .zero {
            decision.refusedBy = .requests
        } else if tokenWait > .zero {
            decision.refusedBy = .tokens
        } else {
            self.requests?.take(1)
            self.tokens?.take(tokenCost)
        }
        decision.requests = self.requests?.status
        decision.tokens = self.tokens?.status
        return decision
    }

    /// The limits' state at `now`, spending nothing.
    public mutating func peek(at now: Duration) -> Decision {
        self.requests?.refill(to: now)
        self.tokens?.refill(to: now)
        return Decision(refusedBy: nil, retryAfter: .zero, requests: self.requests?.status, tokens: self.tokens?.status)
    }

    /// OpenAI's format for `x-ratelimit-reset-*`: "120ms" below a second, else "1s", "1.5s", "6m0s".
    public static func formatReset(_ duration: Duration) -> String {
        let millis = Self.milliseconds(roundingUp: duration)
        if millis < 1000 { return "\(millis)ms" }
        let minutes = millis / 60_000
        let rest = millis % 60_000
        var seconds = "\(rest / 1000)"
        if rest % 1000 != 0 {
            var fraction = String(rest % 1000)
            fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            seconds += "." + fraction
        }
        return minutes > 0 ? "\(minutes)m\(seconds)s" : "\(seconds)s"
    }
}

extension MockRateLimiter {
    /// Whole milliseconds, rounded up (for `retry-after-ms`; the limiter's waits are whole microseconds).
    public static func milliseconds(roundingUp duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let micros = seconds * 1_000_000 + (attoseconds + 999_999_999_999) / 1_000_000_000_000
        return Int((micros + 999) / 1000)
    }
}

extension Duration {
    /// This duration in seconds, as a Double.
    var inSeconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
