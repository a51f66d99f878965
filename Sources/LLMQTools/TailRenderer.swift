import Foundation
import LLMQCore

/// Shows jobs' text as it streams. On a terminal: a board of the latest jobs, redrawn in place.
/// Otherwise (a pipe, a file): one line per job when its stream ends. With a single job: its text as it comes.
public final class TailRenderer: @unchecked Sendable {
    // @unchecked: used from one task at a time (the tail loop); the lock guards the rare overlap
    // with the dev command's own prints.
    private let lock = NSLock()
    private var order: [String] = []
    private var views: [String: StreamAssembler.JobView] = [:]
    private var drawnLines = 0
    private let interactive: Bool
    private let singleJob: Bool
    private let rows: Int
    private var printedLength = 0
    private var lastDraw = ContinuousClock.now

    public init(singleJob: Bool = false, interactive: Bool = isatty(STDOUT_FILENO) == 1, rows: Int = 12) {
        self.singleJob = singleJob
        self.interactive = interactive
        self.rows = rows
    }

    public func show(_ event: ChunkEvent, _ view: StreamAssembler.JobView) {
        lock.lock(); defer { lock.unlock() }
        if singleJob { return showSingle(event, view) }
        if views[event.jobID] == nil { order.append(event.jobID) }
        views[event.jobID] = view
        if order.count > rows * 4 {
            let dropped = order.removeFirst()
            views[dropped] = nil
        }
        if interactive {
            // Redraw at most every 30 ms, and always when a stream ends.
            let ended = view.finished != nil
            if ended || ContinuousClock.now - lastDraw > .milliseconds(30) { redraw() }
        } else if let finished = view.finished {
            print(Self.line(event.jobID, view, finished: finished, width: Int.max))
            fflush(nil)
        }
    }

    /// Prints a line above the board (used by `llmq dev` for its own messages).
    public func note(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        if interactive { clearBoard() }
        print(text)
        drawnLines = 0
        if interactive { redraw() }
        fflush(nil)
    }

    private func showSingle(_ event: ChunkEvent, _ view: StreamAssembler.JobView) {
        switch event.kind {
        case .start:
            if printedLength > 0 { print("\n-- new stream \(view.streamID) (attempt \(view.attempt)) --") }
            printedLength = 0
        case .delta:
            let text = view.text
            if text.count >= printedLength {
                print(text.dropFirst(printedLength), terminator: "")
                printedLength = text.count
            }
        case .end(let reason):
            print("\n-- end (\(reason ?? "stop")) --")
        case .abort(let reason, let retrying):
            print("\n-- abort: \(reason)\(retrying ? ", retrying" : "") --")
        }
        fflush(nil)
    }

    private func clearBoard() {
        if drawnLines > 0 { print("\u{1B}[\(drawnLines)A\u{1B}[J", terminator: "") }
    }

    private func redraw() {
        clearBoard()
        let width = 100
        let shown = order.suffix(rows)
        for id in shown {
            guard let view = views[id] else { continue }
            print(Self.line(id, view, finished: view.finished, width: width))
        }
        drawnLines = shown.count
        lastDraw = .now
        fflush(nil)
    }

    static func line(_ id: String, _ view: StreamAssembler.JobView, finished: ChunkEvent.Kind?, width: Int) -> String {
        let mark: String
        switch finished {
        case .end?: mark = "✓"
        case .abort(_, let retrying)?: mark = retrying ? "↻" : "✗"
        default: mark = "…"
        }
        let text = view.text.replacingOccurrences(of: "\n", with: " ")
        let tail = text.count > width ? "…" + text.suffix(width - 1) : text
        return "\(mark) \(id) [a\(view.attempt)] \(tail)"
    }
}
