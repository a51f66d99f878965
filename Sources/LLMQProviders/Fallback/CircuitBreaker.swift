/// When the primary provider is considered down: a plain state machine fed with elapsed time (any
/// monotonic clock), tested without I/O. `FallbackProvider` keeps it behind a lock.
///
/// Closed: calls go to the primary; `failures` consecutive retryable failures open it. Open: calls
/// go to the fallback for `cooldown`; then the next call is a probe to the primary (half-open) while
/// the others keep going to the fallback. The probe's success closes the circuit, its failure opens it
/// for another cooldown. Any success of the primary closes it.
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case closed(consecutiveFailures: Int)
        case open(until: Duration)
        case probing
    }

    /// Where one call goes.
    public enum Route: Sendable, Hashable {
        case primary
        /// The one call to the primary after the cooldown.
        case probe
        case fallback
    }

    /// What changed, for the log and the metrics.
    public enum Transition: Sendable, Hashable {
        case opened
        case closed
    }

    /// Consecutive retryable failures that open the circuit; 0: it never opens.
    public let failures: Int
    public let cooldown: Duration
    public private(set) var state: State = .closed(consecutiveFailures: 0)

    public init(failures: Int, cooldown: Duration) {
        self.failures = failures
        self.cooldown = cooldown
    }

    public var isOpen: Bool {
        if case .closed = self.state { return false }
        return true
    }

    /// Where a call starting at `now` goes.
    public mutating func route(at now: Duration) -> Route {
        switch self.state {
        case .closed:
            return .primary
        case .open(let until) where now >= until:
            self.state = .probing
            return .probe
        case .open, .probing:
            return .fallback
        }
    }

    /// The primary answered (a success, or a failure that says it is up, such as a 400).
    public mutating func primarySucceeded() -> Transition? {
        let wasOpen = self.isOpen
        self.state = .closed(consecutiveFailures: 0)
        return wasOpen ? .closed : nil
    }

    /// The primary failed at `now` with a retryable error; `probe` when this call was the probe.
    public mutating func primaryFailed(at now: Duration, probe: Bool) -> Transition? {
        switch self.state {
        case .closed(let count):
            guard self.failures > 0 else { return nil }
            guard count + 1 >= self.failures else {
                self.state = .closed(consecutiveFailures: count + 1)
                return nil
            }
            self.state = .open(until: now + self.cooldown)
            return .opened
        case .probing where probe:
            self.state = .open(until: now + self.cooldown)
            return nil
        case .open, .probing:
            // A call that started before the circuit opened: it is open already.
            return nil
        }
    }

    /// The probe ended without telling anything (cancelled, or the caller's own failure): the next call probes again.
    public mutating func probeAbandoned(at now: Duration) {
        if case .probing = self.state { self.state = .open(until: now) }
    }
}
