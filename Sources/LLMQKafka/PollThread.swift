import Foundation
import Synchronization

/// A dedicated OS thread that runs a polling loop, so blocking librdkafka calls never occupy a
/// thread of Swift's cooperative pool.
final class PollThread: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let finished = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Starts `body` on a new thread; `body` receives a closure telling whether stop was requested,
    /// and should return soon after it says so.
    init(name: String, body: @escaping @Sendable (_ shouldStop: () -> Bool) -> Void) {
        let thread = Thread { [self] in
            body { self.stopRequested.load(ordering: .acquiring) }
            let waiters = finished.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            waiters.forEach { $0.resume() }
        }
        thread.name = name
        thread.start()
    }

    func requestStop() { stopRequested.store(true, ordering: .releasing) }

    /// Waits until the loop has returned.
    func join() async {
        await withCheckedContinuation { continuation in
            let done = finished.withLock { state -> Bool in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}
