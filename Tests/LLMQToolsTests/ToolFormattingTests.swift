import Foundation
import LLMQTools
import Synchronization
import Testing

/// Progress lines, Prometheus text and time filters: the pure parts of the operator tools.
@Suite("Tool formatting")
struct ToolFormattingTests {
    /// A clock the test moves by hand.
    final class Clock: Sendable {
        private let now = Mutex(ContinuousClock.now)
        func advance(_ d: Duration) { now.withLock { $0 += d } }
        var instant: ContinuousClock.Instant { now.withLock { $0 } }
    }

    @Test func pipedProgressPrintsALineASecondAndASummary() {
        let clock = Clock()
        let out = Mutex<[String]>([])
        let progress = ProgressReporter(label: "replayed", total: 100, interactive: false,
                                        write: { line in out.withLock { $0.append(line) } }, now: { clock.instant })
        progress.update(10)
        #expect(out.withLock { $0 }.isEmpty, "nothing before a second has passed")
        clock.advance(.seconds(1))
        progress.update(50)
        clock.advance(.milliseconds(500))
        progress.update(60)
        #expect(out.withLock { $0 } == ["replayed 50/100 (50%), 50/s, 1s left\n"])
        clock.advance(.milliseconds(500))
        let summary = progress.finish(100, note: "0 skipped")
        #expect(summary == "replayed 100 in 2.0 s (50/s), 0 skipped")
        #expect(out.withLock { $0 }.last == summary + "\n")
    }

    @Test func terminalProgressRedrawsOneLine() {
        let clock = Clock()
        let out = Mutex<[String]>([])
        let progress = ProgressReporter(label: "enqueued", total: 4, interactive: true,
                                        write: { line in out.withLock { $0.append(line) } }, now: { clock.instant })
        clock.advance(.milliseconds(200))
        progress.update(1)
        let line = out.withLock { $0 }.first ?? ""
        #expect(line.hasPrefix("\r\u{1B}[K[######..................] enqueued 1/4 (25%)"))
        #expect(!line.contains("\n"))
    }

    @Test func durations() {
        #expect(ProgressReporter.duration(42) == "42s")
        #expect(ProgressReporter.duration(185) == "3m05s")
        #expect(ProgressReporter.duration(7800) == "2h10m")
    }

    @Test func prometheusTextSamples() {
        let text = """
            # HELP llmq_jobs_in_flight jobs
            # TYPE llmq_jobs_in_flight gauge
            llmq_jobs_in_flight 3
            llmq_partition_assigned{topic="llmq.jobs",partition="0"} 1
            llmq_partition_assigned{topic="llmq.jobs",partition="1"} 0
            llmq_partition_assigned{topic="other",partition="2"} 1
            llmq_job_duration_seconds_bucket{le="+Inf"} 7 1700000000
            """
        let metrics = PrometheusText(text)
        #expect(metrics.value("llmq_jobs_in_flight") == 3)
        #expect(metrics.values("llmq_partition_assigned", ["topic": "llmq.jobs"]).filter { $0.value == 1 }.map { $0.labels["partition"] } == ["0"])
        #expect(metrics.values("llmq_job_duration_seconds_bucket").first?.labels == ["le": "+Inf"])
        #expect(metrics.value("missing") == nil)
    }

    @Test func filterTimes() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(DeadLetterFilter.parseTime("15m", now: now) == now.addingTimeInterval(-900))
        #expect(DeadLetterFilter.parseTime("2d", now: now) == now.addingTimeInterval(-172_800))
        #expect(DeadLetterFilter.parseTime("2026-11-29T10:00:00Z") == ISO8601DateFormatter().date(from: "2026-11-29T10:00:00Z"))
        #expect(DeadLetterFilter.parseTime("soon") == nil)
    }
}
