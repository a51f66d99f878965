import NIOCore
import Synchronization

/// Enforces the connect / first-chunk / idle / total limits of one call.
///
/// The body-reading loop only stores a timestamp per chunk (one clock reading, one atomic store):
/// no timer is re-armed per chunk and nothing is allocated. A timer fires at the earliest deadline
/// that could apply, `check` re-reads the state, and the timer is either re-armed or the call is
/// failed with the matching error.
/// Times are nanoseconds since the call started, on an injectable clock (`Stopwatch`).
final class CallWatchdog: Sendable {
    enum Phase: Int {
        /// Waiting for the connection (until AsyncHTTPClient pulls the request body or a response head arrives).
        case connecting = 0
        /// Request sent, waiting for the first event.
        case awaitingFirstEvent = 1
        /// Events are flowing; only the idle gap and the total limit apply.
        case streaming = 2
        /// Non-streaming call after connecting: only the total limit applies.
        case awaitingWholeBody = 3
    }

    private let stopwatch: Stopwatch
    private let timeouts: Timeouts
    private let streaming: Bool
    private let phase = Atomic<Int>(Phase.connecting.rawValue)
    /// When the current phase began, or the last body chunk arrived while streaming (ns since the start).
    private let mark = Atomic<UInt64>(0)
    /// The deadline to hand to AsyncHTTPClient, so it also enforces the total limit itself (on
    /// real time: a backstop behind the watchdog, which fires first on the injected clock).
    let totalDeadline: NIODeadline

    init(timeouts: Timeouts, streaming: Bool, clock: some Clock<Duration> = ContinuousClock()) {
        self.stopwatch = Stopwatch(clock: clock)
        self.timeouts = timeouts
        self.streaming = streaming
        self.totalDeadline = .uptimeNanoseconds(Self.adding(NIODeadline.now().uptimeNanoseconds, timeouts.total))
    }

    var currentPhase: Phase { Phase(rawValue: self.phase.load(ordering: .relaxed)) ?? .connecting }

    /// The connection is up (the request body is being pulled, or a response head arrived).
    func connected() {
        let next: Phase = self.streaming ? .awaitingFirstEvent : .awaitingWholeBody
        self.mark.store(self.now, ordering: .relaxed)
        _ = self.phase.compareExchange(expected: Phase.connecting.rawValue, desired: next.rawValue, ordering: .relaxed)
    }

    /// The first server-sent event arrived.
    func firstEvent() {
        self.mark.store(self.now, ordering: .relaxed)
        self.phase.store(Phase.streaming.rawValue, ordering: .relaxed)
    }

    /// A body chunk arrived: resets the idle clock.
    @inline(__always)
    func bodyChunk() {
        self.mark.store(self.now, ordering: .relaxed)
    }

    /// What the watchdog finds when it looks now.
    enum Check: Equatable {
        /// A limit was exceeded: the call must end with this error.
        case expired(ProviderError.Code, limit: Duration)
        /// Nothing is exceeded yet; look again after this long.
        case lookAgain(after: Duration)
    }

    /// Looks at the state now: a limit exceeded, or when to look next. `ResponseReader` calls it
    /// from a timer on the connection's event loop (no task per call); tests call it after
    /// advancing a test clock.
    func check() -> Check {
        let (deadline, code, limit) = self.nextDeadline()
        let now = self.now
        if now >= deadline { return .expired(code, limit: limit) }
        return .lookAgain(after: .nanoseconds(Int64(clamping: self.wakeUp(before: deadline, now: now) - now)))
    }

    /// The error a call ends with when `check` found a limit exceeded.
    static func error(_ code: ProviderError.Code, limit: Duration) -> ProviderError {
        ProviderError(code: code, message: "no progress within \(limit)")
    }

    /// Nanoseconds since the start.
    @inline(__always)
    private var now: UInt64 { UInt64(self.stopwatch.elapsed.nanoseconds) }

    private func nextDeadline() -> (UInt64, ProviderError.Code, Duration) {
        let total = Self.adding(0, self.timeouts.total)
        let mark = self.mark.load(ordering: .relaxed)
        let phaseDeadline: (UInt64, ProviderError.Code, Duration)?
        switch self.currentPhase {
        case .connecting:
            phaseDeadline = (Self.adding(0, self.timeouts.connect), .timeoutConnect, self.timeouts.connect)
        case .awaitingFirstEvent:
            phaseDeadline = (Self.adding(mark, self.timeouts.firstChunk), .timeoutFirstChunk, self.timeouts.firstChunk)
        case .streaming:
            phaseDeadline = (Self.adding(mark, self.timeouts.idle), .timeoutIdle, self.timeouts.idle)
        case .awaitingWholeBody:
            phaseDeadline = nil
        }
        if let phaseDeadline, phaseDeadline.0 < total { return phaseDeadline }
        return (total, .timeoutTotal, self.timeouts.total)
    }

    /// When to wake up next: the current deadline, or earlier if the next phase could begin any
    /// moment with a shorter limit (phase changes do not wake the watchdog, so it must not
    /// oversleep them; this costs at most one extra wake-up per phase-limit interval).
    private func wakeUp(before deadline: UInt64, now: UInt64) -> UInt64 {
        let nextLimit: Duration?
        switch self.currentPhase {
        case .connecting: nextLimit = self.streaming ? self.timeouts.firstChunk : nil
        case .awaitingFirstEvent: nextLimit = self.timeouts.idle
        case .streaming, .awaitingWholeBody: nextLimit = nil
        }
        guard let nextLimit else { return deadline }
        return min(deadline, Self.adding(now, nextLimit))
    }

    private static func adding(_ base: UInt64, _ duration: Duration) -> UInt64 {
        let (sum, overflow) = base.addingReportingOverflow(UInt64(duration.nanoseconds))
        return overflow ? .max : sum
    }
}
