import Synchronization

/// At most `limit` jobs in flight. `tryAcquire` never waits; `waitForSlot` suspends until a slot is free.
public final class Admission: Sendable {
    private struct State {
        var inFlight = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// Takes a slot if one is free.
    public func tryAcquire() -> Bool {
        state.withLock { state in
            guard state.inFlight < limit else { return false }
            state.inFlight += 1
            return true
        }
    }

    /// Returns once a slot is free (without taking it), or the task is cancelled. Callers then `tryAcquire`.
    public func waitForSlot() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let free = state.withLock { state -> Bool in
                    // Checked under the lock: a cancellation that already ran found no waiter to wake.
                    if state.inFlight < limit || Task.isCancelled { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if free { continuation.resume() }
            }
        } onCancel: {
            wakeAll()
        }
    }

    private func wakeAll() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Gives a slot back and wakes the waiters.
    public func release() {
        state.withLock { $0.inFlight -= 1 }
        wakeAll()
    }

    /// Returns once nothing is in flight, or the deadline passed; true when drained.
    public func waitUntilIdle(until deadline: ContinuousClock.Instant) async -> Bool {
        while inFlight > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}
