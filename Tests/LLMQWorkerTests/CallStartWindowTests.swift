import LLMQTesting
import Synchronization
import Testing

@testable import LLMQWorker

/// The bound on calls in set-up: slots in arrival order, released once, waits cancellable.
@Suite("Call start window")
struct CallStartWindowTests {
    @Test("up to its width enter at once; the next waits until a slot comes back, which passes to it")
    func boundsAndHandsOver() async throws {
        let window = CallStartWindow(width: 2)
        let first = try await window.enter()
        let second = try await window.enter()
        #expect(window.starting == 2)
        let third = Task { try await window.enter() }
        try await waitUntil("the third call waits") { window.waiting == 1 }
        first.release()
        let slot = try await third.value
        #expect(window.starting == 2 && window.waiting == 0, "the slot passed on, not freed")
        second.release()
        slot.release()
        #expect(window.starting == 0)
    }

    @Test("releasing a slot twice (request sent, then the call's end) frees it once")
    func releaseIsIdempotent() async throws {
        let window = CallStartWindow(width: 1)
        let slot = try await window.enter()
        slot.release()
        slot.release()
        #expect(window.starting == 0)
        let a = try await window.enter()
        #expect(window.starting == 1)
        let b = Task { try await window.enter() }
        try await waitUntil("the second waits") { window.waiting == 1 }
        slot.release() // the old slot again: must not let `b` in
        #expect(window.waiting == 1)
        a.release()
        try await b.value.release()
        #expect(window.starting == 0)
    }

    @Test("waiters get slots in arrival order")
    func fifo() async throws {
        let window = CallStartWindow(width: 1)
        let held = try await window.enter()
        let order = Order()
        var tasks: [Task<Void, any Error>] = []
        for index in 0..<5 {
            tasks.append(Task {
                let slot = try await window.enter()
                order.indices.withLock { $0.append(index) }
                slot.release()
            })
            try await waitUntil("waiter \(index) queued") { window.waiting == index + 1 }
        }
        held.release()
        for task in tasks { try await task.value }
        #expect(order.indices.withLock { $0 } == [0, 1, 2, 3, 4])
        #expect(window.starting == 0)
    }

    private final class Order: Sendable {
        let indices = Mutex<[Int]>([])
    }

    @Test("a cancelled waiter leaves the queue with CancellationError and takes no slot")
    func cancelledWaiter() async throws {
        let window = CallStartWindow(width: 1)
        let held = try await window.enter()
        let waiter = Task { try await window.enter() }
        try await waitUntil("the waiter is queued") { window.waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(window.waiting == 0 && window.starting == 1)
        held.release()
        #expect(window.starting == 0)
        // An already-cancelled task does not get a slot either.
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await window.enter()
        }
        await #expect(throws: CancellationError.self) { _ = try await late.value }
        #expect(window.starting == 0)
    }

    @Test("width 0: no bound")
    func unbounded() async throws {
        let window = CallStartWindow(width: 0)
        var slots: [CallStartWindow.Slot] = []
        for _ in 0..<100 { slots.append(try await window.enter()) }
        #expect(window.starting == 0 && window.waiting == 0)
        for slot in slots { slot.release() }
    }
}
