/// The in-flight limit for calls to one provider, found by additive increase and multiplicative
/// decrease (AIMD, as in TCP and Netflix's concurrency-limits).
///
/// - It starts low (`initial`) and, until the first sign of congestion, grows by one per
///   successful call (slow start: it doubles every round of calls).
/// - A sign of congestion (a 429, a 503, a timeout, or first-chunk latency well above its
///   baseline) multiplies it by `backoffRatio`, at most once per `cooldown`: the calls that
///   were already out when the provider pushed back all answer the same way, and one push-back
///   deserves one decrease.
/// - After that, each success adds 1 / limit: about one more call per round.
/// Time is a reading of a clock (`Duration` since any fixed origin), so tests drive it directly.
public struct AdaptiveConcurrency: Sendable {
    public let minimum: Int
    public let maximum: Int
    public var backoffRatio = 0.75
    public var cooldown: Duration = .seconds(1)
    /// First-chunk latency counts as congestion above `latencyTolerance` × baseline plus `latencyMargin`.
    public var latencyTolerance = 2.0
    public var latencyMargin: Duration = .milliseconds(250)
    /// The smoothed latency must rest on this many samples before it can signal congestion.
    public var latencySamplesNeeded = 20

    private var value: Double
    private var slowStart = true
    private var lastDecrease: Duration?
    /// The lowest smoothed first-chunk latency seen, drifting up slowly so that a provider that got
    /// slower for good becomes the new normal.
    private var baseline: Double?
    /// Exponentially smoothed first-chunk latency, in seconds.
    private var smoothed: Double?
    private var samples = 0

    public init(initial: Int, minimum: Int = 1, maximum: Int) {
        self.minimum = max(1, minimum)
        self.maximum = max(self.minimum, maximum)
        self.value = Double(min(max(initial, self.minimum), self.maximum))
    }

    /// Calls allowed in flight now.
    public var limit: Int { Int(value) }
    /// Whether the limit is still growing by one per success (no congestion seen yet).
    public var isSlowStart: Bool { slowStart }

    /// A call succeeded; `firstChunk` is how long its first chunk took, if it had one.
    /// Returns true when the limit changed.
    @discardableResult
    public mutating func succeeded(firstChunk: Duration?, now: Duration) -> Bool {
        let before = limit
        if let firstChunk, congestedByLatency(firstChunk.seconds) {
            return decrease(now: now) || before != limit
        }
        value = min(Double(maximum), value + (slowStart ? 1 : 1 / value))
        return before != limit
    }

    /// The provider pushed back (429, 503, a timeout). Returns true when the limit changed.
    @discardableResult
    public mutating func congested(now: Duration) -> Bool {
        decrease(now: now)
    }

    private mutating func decrease(now: Duration) -> Bool {
        slowStart = false
        if let lastDecrease, now - lastDecrease < cooldown { return false }
        lastDecrease = now
        let before = limit
        value = max(Double(minimum), (value * backoffRatio).rounded(.down))
        return before != limit
    }

    private mutating func congestedByLatency(_ seconds: Double) -> Bool {
        let smoothed = self.smoothed.map { $0 * 0.9 + seconds * 0.1 } ?? seconds
        self.smoothed = smoothed
        samples += 1
        baseline = min(smoothed, (baseline ?? smoothed) * 1.001)
        guard samples >= latencySamplesNeeded, let baseline else { return false }
        return smoothed > baseline * latencyTolerance + latencyMargin.seconds
    }
}
