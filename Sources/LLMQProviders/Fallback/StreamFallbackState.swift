/// The stream fallback's state machine for one provider: a plain value fed with elapsed time (any
/// monotonic clock), so it is tested without I/O. `StreamFallbackProvider` keeps it behind a lock.
public struct StreamFallbackState: Sendable, Hashable {
    /// What changed, for the log and the metrics.
    public enum Transition: Sendable, Hashable {
        /// New calls go non-streaming: `interruptions` broken streams within the window.
        case stoppedStreaming(interruptions: Int)
        /// The quiet period passed: new calls stream again.
        case resumedStreaming
    }

    public let policy: StreamFallbackPolicy
    /// Times of the interruptions within the window, oldest first (while streaming).
    private var recent: [Duration] = []
    /// While not streaming: when streaming may resume, unless another interruption comes first.
    private var resumeAt: Duration?

    public init(policy: StreamFallbackPolicy) {
        self.policy = policy
    }

    /// True while new calls go non-streaming.
    public var isFallingBack: Bool { self.resumeAt != nil }

    /// Whether a call starting at `now` may stream; the transition when the quiet period just ended.
    public mutating func mayStream(at now: Duration) -> (Bool, Transition?) {
        guard let resumeAt = self.resumeAt else { return (true, nil) }
        guard now >= resumeAt else { return (false, nil) }
        self.resumeAt = nil
        self.recent.removeAll()
        return (true, .resumedStreaming)
    }

    /// A streamed call failed at `now` with an interruption; the transition when that was one too many.
    /// Streams that were already under way when calls stopped streaming may still report theirs:
    /// they push the end of the quiet period back.
    public mutating func interrupted(at now: Duration) -> Transition? {
        guard self.policy.isEnabled else { return nil }
        if self.resumeAt != nil {
            self.resumeAt = now + self.policy.quiet
            return nil
        }
        self.recent.append(now)
        self.recent.removeAll { now - $0 >= self.policy.window }
        guard self.recent.count >= self.policy.interruptions else { return nil }
        let count = self.recent.count
        self.recent.removeAll()
        self.resumeAt = now + self.policy.quiet
        return .stoppedStreaming(interruptions: count)
    }
}
