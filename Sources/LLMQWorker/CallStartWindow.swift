import DequeModule
import Synchronization

/// Bounds how many provider calls are being set up at once: from leave to call until the request
/// went out on a connection (or the response head came, or the call ended, whichever is first).
///
/// When thousands of jobs are leased together, each call opens a connection. Without a bound,
/// all of that set-up lands on the HTTP client's event loops at once, and the streams that are
/// already open wait behind it (issue 11: seconds of forward latency for 5,000 streams started
/// together). With it, new calls start as fast as the loops finish setting up the previous ones,
/// which is self-pacing: no rate to tune, and an idle worker starts calls at once.
///
/// Waiters get a slot in arrival order. Cancelling a waiting task ends its wait with
/// `CancellationError`. It says nothing about budgets or concurrency: `ProviderGovernor` decides
/// whether a call may be made; this only decides when its set-up begins.
public final class CallStartWindow: Sendable {
    /// One call's place in the window; `release()` hands it back (only the first call counts).
    public final class Slot: Sendable {
        private let window: CallStartWindow?
        private let released = Atomic<Bool>(false)

        fileprivate init(_ window: CallStartWindow?) { self.window = window }

        public func release() {
            guard let window, !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            window.leave()
        }
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var starting = 0
        var waiters = Deque<Waiter>()
        var nextID: UInt64 = 0
    }

    /// Calls allowed in set-up at once; 0 means no bound.
    public let width: Int
    private let state = Mutex(State())

    public init(width: Int) {
        self.width = max(0, width)
    }

    /// Calls in set-up now (for tests and metrics).
    public var starting: Int { state.withLock { $0.starting } }
    /// Calls waiting for a slot now.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Waits for a slot. Throws `CancellationError` if the task is cancelled before it gets one.
    public func enter() async throws -> Slot {
        guard width > 0 else { return Slot(nil) }
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Action { case go, cancelled, wait }
                let action = state.withLock { state -> Action in
                    if Task.isCancelled { return .cancelled }
                    if state.starting < width, state.waiters.isEmpty {
                        state.starting += 1
                        return .go
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch action {
                case .go: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
        return Slot(self)
    }

    /// A slot came back: it passes to the first waiter, if any.
    private func leave() {
        let next = state.withLock { state -> Waiter? in
            if let next = state.waiters.popFirst() { return next }
            state.starting -= 1
            return nil
        }
        next?.continuation.resume()
    }
}
