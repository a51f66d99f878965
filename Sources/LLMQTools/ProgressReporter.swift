import Foundation

/// Progress of a long operation (`llmq enqueue --file`, `llmq dlq replay`). On a terminal: one line
/// redrawn in place (count, percentage, rate, time left). Piped: a plain line every `lineInterval`.
/// Always ends with a summary line.
public final class ProgressReporter: @unchecked Sendable {
    // @unchecked: all state is behind `lock`; updates come from one task, reads for drawing from the same.
    private let lock = NSLock()
    private let label: String
    private let total: Int?
    private let interactive: Bool
    private let lineInterval: Duration
    private let write: @Sendable (String) -> Void
    private let now: @Sendable () -> ContinuousClock.Instant
    private let start: ContinuousClock.Instant
    private var done = 0
    private var lastDraw: ContinuousClock.Instant

    /// - Parameters:
    ///   - label: what is counted, e.g. `enqueued` (`enqueued 1200/5000 jobs`).
    ///   - total: how many there will be, when known.
    public init(label: String, total: Int?, interactive: Bool = isatty(STDERR_FILENO) == 1, lineInterval: Duration = .seconds(1),
                write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
                now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.label = label
        self.total = total
        self.interactive = interactive
        self.lineInterval = lineInterval
        self.write = write
        self.now = now
        start = now()
        lastDraw = start
    }

    /// Sets the count done so far; draws when due.
    public func update(_ count: Int) {
        lock.lock(); defer { lock.unlock() }
        done = count
        let t = now()
        let due = interactive ? t - lastDraw >= .milliseconds(100) : t - lastDraw >= lineInterval
        guard due else { return }
        lastDraw = t
        write(interactive ? "\r\u{1B}[K" + line(at: t) : line(at: t) + "\n")
    }

    /// Prints the summary line (after clearing the live line on a terminal) and returns it.
    @discardableResult
    public func finish(_ count: Int, note: String = "") -> String {
        lock.lock(); defer { lock.unlock() }
        done = count
        let elapsed = seconds(now() - start)
        var summary = "\(label) \(count) in \(String(format: "%.1f", elapsed)) s (\(Self.rate(count, elapsed)))"
        if !note.isEmpty { summary += ", " + note }
        write((interactive ? "\r\u{1B}[K" : "") + summary + "\n")
        return summary
    }

    private func line(at t: ContinuousClock.Instant) -> String {
        let elapsed = seconds(t - start)
        var text = "\(label) \(done)"
        if let total, total > 0 {
            text += "/\(total) (\(done * 100 / total)%)"
            if interactive {
                let width = 24
                let filled = min(width, done * width / total)
                text = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + text
            }
        }
        text += ", \(Self.rate(done, elapsed))"
        if let total, done > 0, done < total, elapsed > 0 {
            let left = Double(total - done) / (Double(done) / elapsed)
            text += ", \(Self.duration(left)) left"
        }
        return text
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func rate(_ count: Int, _ seconds: Double) -> String {
        seconds > 0 ? "\(Int((Double(count) / seconds).rounded()))/s" : "-/s"
    }

    /// `42s`, `3m05s`, `2h10m`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "∞" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}
