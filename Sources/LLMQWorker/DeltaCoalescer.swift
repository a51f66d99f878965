/// Optionally merges consecutive deltas into fewer chunk events (`worker.chunk_coalesce_bytes`,
/// `worker.chunk_coalesce_ms`; off by default). A merged delta is produced once it holds at least
/// `minBytes`, or when a delta arrives `maxDelay` or more after the first one waiting, and always
/// at the end of the stream. (No timer: a stream that goes quiet holds its pending text until its
/// next delta or its end, at most `timeout.idle_ms`.)
struct DeltaCoalescer {
    let minBytes: Int
    let maxDelay: Duration
    private var pending = ""
    private var pendingSince: ContinuousClock.Instant?

    init(minBytes: Int, maxDelay: Duration) {
        self.minBytes = minBytes
        self.maxDelay = maxDelay
    }

    var isEnabled: Bool { minBytes > 0 || maxDelay > .zero }

    /// The text to produce now, if any.
    mutating func add(_ delta: String) -> String? {
        guard isEnabled else { return delta }
        let now = ContinuousClock.now
        if pendingSince == nil { pendingSince = now }
        pending += delta
        let bigEnough = minBytes > 0 && pending.utf8.count >= minBytes
        let waitedEnough = maxDelay > .zero && now - pendingSince! >= maxDelay
        return bigEnough || waitedEnough ? flush() : nil
    }

    /// Whatever is pending.
    mutating func flush() -> String? {
        pendingSince = nil
        guard !pending.isEmpty else { return nil }
        defer { pending = "" }
        return pending
    }
}
