/// The four time limits of one provider call; each fires with its own `ProviderError.Code`.
///
/// - `connect`: from the start of the call until the connection is up and the request is being sent
///   (also give it to the shared `HTTPClient`'s configuration, see `httpClientTimeout`).
/// - `firstChunk`: from the request being sent until the first server-sent event (streaming only).
/// - `idle`: the longest gap between body chunks once streaming (streaming only).
/// - `total`: the whole call, connect included.
public struct Timeouts: Sendable, Hashable {
    /// Default: 10 s.
    public var connect: Duration
    /// Default: 5 s.
    public var firstChunk: Duration
    /// Default: 30 s.
    public var idle: Duration
    /// Default: 60 s.
    public var total: Duration

    public init(
        connect: Duration = .seconds(10),
        firstChunk: Duration = .seconds(5),
        idle: Duration = .seconds(30),
        total: Duration = .seconds(60)
    ) {
        self.connect = connect
        self.firstChunk = firstChunk
        self.idle = idle
        self.total = total
    }

    /// connect 10 s, first chunk 5 s, idle 30 s, total 60 s (the ERNIE streaming guide's numbers, plus idle).
    public static let `default` = Timeouts()
}

extension Duration {
    /// Whole nanoseconds, saturating at 0 below and Int64.max above.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        if seconds < 0 { return 0 }
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, overflow2) = ns.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : sum
    }

    /// Seconds as a Double (for jitter arithmetic).
    var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
