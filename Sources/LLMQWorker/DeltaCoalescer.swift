import LLMQProviders

/// Optionally merges consecutive deltas into fewer chunk events (`worker.chunk_coalesce_bytes`,
/// `worker.chunk_coalesce_ms`; off by default). A merged delta is produced once it holds at least
/// `minBytes`, or when a delta arrives `maxDelay` or more after the first one waiting, and always
/// at the end of the stream. (No timer: a stream that goes quiet holds its pending text until its
/// next delta or its end, at most `timeout.idle_ms`.)
struct DeltaCoalescer {
    let minBytes: Int
    let maxDelay: Duration
    /// Reads the (injectable) clock only when a delay is configured.
    private let stopwatch: Stopwatch?
    private var pending = ""
    private var pendingSince: Duration?

    init(minBytes: Int, maxDelay: Duration, clock: some Clock<Duration> = ContinuousClock()) {
        self.minBytes = minBytes
        self.maxDelay = maxDelay
        self.stopwatch = maxDelay > .zero ? Stopwatch(clock: clock) : nil
    }

    var isEnabled: Bool { minBytes > 0 || maxDelay > .zero }

    /// The text to produce now, if any.
    mutating func add(_ delta: String) -> String? {
        guard isEnabled else { return delta }
        pending += delta
        if minBytes > 0, pending.utf8.count >= minBytes { return flush() }
        guard let stopwatch else { return nil }
        let now = stopwatch.elapsed
        guard let since = pendingSince else {
            pendingSince = now
            return nil
        }
        return now - since >= maxDelay ? flush() : nil
    }

    /// Whatever is pending.
    mutating func flush() -> String? {
        pendingSince = nil
        guard !pending.isEmpty else { return nil }
        defer { pending = "" }
        return pending
    }
}
