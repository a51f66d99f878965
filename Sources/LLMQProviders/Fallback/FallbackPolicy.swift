/// When the fallback provider serves a call instead of the primary.
public struct FallbackPolicy: Sendable, Hashable {
    /// Attempts of a job the primary serves; later attempts (retries of retryable failures) go to
    /// the fallback. Default: 1 (every retry goes to the fallback).
    public var afterAttempts: Int
    /// Consecutive retryable failures of the primary (429s aside) that open its circuit: while it is
    /// open every call goes to the fallback. 0: the circuit never opens. Default: 5.
    public var circuitFailures: Int
    /// How long the circuit stays open before one call probes the primary again. Default: 30 s.
    public var circuitCooldown: Duration

    public init(afterAttempts: Int = 1, circuitFailures: Int = 5, circuitCooldown: Duration = .seconds(30)) {
        self.afterAttempts = afterAttempts
        self.circuitFailures = circuitFailures
        self.circuitCooldown = circuitCooldown
    }
}
