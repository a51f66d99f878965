/// When a provider's calls stop streaming because its streams keep breaking (the ERNIE streaming
/// guide's advice for an unstable network), and when they stream again.
public struct StreamFallbackPolicy: Sendable, Hashable {
    /// Interrupted streams within `window` that switch new calls to non-streaming; 0 turns the
    /// fallback off. Default: 0 (off).
    public var interruptions: Int
    /// How far back interruptions count. Default: 60 s.
    public var window: Duration
    /// Streaming resumes once this long has passed without an interruption since the switch. Default: 300 s.
    public var quiet: Duration

    public init(interruptions: Int = 0, window: Duration = .seconds(60), quiet: Duration = .seconds(300)) {
        self.interruptions = interruptions
        self.window = window
        self.quiet = quiet
    }

    public var isEnabled: Bool { self.interruptions > 0 }

    /// The failures that count as an interrupted stream: the stream began and then broke (it ended
    /// without its terminal event, carried an undecodable event, or went silent past `timeout.idle_ms`).
    /// A connection refused, a slow first chunk or an HTTP error is not a broken stream: not
    /// streaming would not help.
    public static func isInterruption(_ code: ProviderError.Code) -> Bool {
        code == .streamInterrupted || code == .malformedEvent || code == .timeoutIdle
    }
}
