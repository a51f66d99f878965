/// Time elapsed since a start, on any clock, so time-dependent code can be tested with a test
/// clock. Type-erased once, when started (one closure context); each reading is an indirect call
/// and the clock's own `now`, with no allocation, so it is fit for per-chunk hot paths.
public struct Stopwatch: Sendable {
    private let read: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void

    /// Starts now on `clock`.
    public init<C: Clock<Duration>>(clock: C) {
        let start = clock.now
        self.read = { start.duration(to: clock.now) }
        self.sleeper = { try await clock.sleep(until: start.advanced(by: $0), tolerance: nil) }
    }

    /// Starts now on the continuous clock.
    public init() {
        self.init(clock: ContinuousClock())
    }

    /// Time since the start.
    public var elapsed: Duration { self.read() }

    /// Sleeps until `elapsed` reaches `offset` (returns at once when it already has); throws when cancelled.
    public func sleep(untilElapsed offset: Duration) async throws {
        try await self.sleeper(offset)
    }
}
