import Synchronization
import Testing

@testable import LLMQWorker

/// A flag tasks can share.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A counter tasks can share.
private final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .sequentiallyConsistent) }
    var value: Int { count.load(ordering: .sequentiallyConsistent) }
}

@Suite("Admission", .timeLimit(.minutes(1)))
struct AdmissionTests {
    @Test(arguments: [1, 2, 64])
    func tryAcquireUpToTheLimit(limit: Int) {
        let admission = Admission(limit: limit)
        #expect(admission.limit == limit)
        for taken in 0..<limit {
            #expect(admission.inFlight == taken)
            #expect(admission.tryAcquire())
        }
        #expect(!admission.tryAcquire())
        #expect(!admission.tryAcquire())
        #expect(admission.inFlight == limit)
        admission.release()
        #expect(admission.inFlight == limit - 1)
        #expect(admission.tryAcquire())
        #expect(!admission.tryAcquire())
    }

    @Test func concurrentAcquiresNeverExceedTheLimit() async {
        let admission = Admission(limit: 5)
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 { group.addTask { admission.tryAcquire() } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(granted == 5)
        #expect(admission.inFlight == 5)
    }

    @Test func waitForSlotReturnsAtOnceWhenASlotIsFree() async {
        let admission = Admission(limit: 2)
        #expect(admission.tryAcquire())
        await admission.waitForSlot()
        // It does not take the slot.
        #expect(admission.inFlight == 1)
    }

    @Test func waitForSlotResumesAfterARelease() async throws {
        let admission = Admission(limit: 1)
        #expect(admission.tryAcquire())
        let returned = Flag()
        let waiter = Task {
            await admission.waitForSlot()
            returned.set()
            return admission.tryAcquire()
        }
        // Give the waiter every chance to run; while the slot is taken it must stay suspended.
        for _ in 0..<1_000 { await Task.yield() }
        let returnedEarly = returned.isSet
        #expect(!returnedEarly)
        admission.release()
        #expect(await waiter.value)
        #expect(admission.inFlight == 1)
    }

    @Test func oneReleaseWakesEveryWaiterButOnlyOneGetsTheSlot() async {
        let admission = Admission(limit: 1)
        #expect(admission.tryAcquire())
        let started = Counter()
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    started.increment()
                    await admission.waitForSlot()
                    return admission.tryAcquire()
                }
            }
            while started.value < 8 { await Task.yield() }
            admission.release()
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 8)
        #expect(results.filter { $0 }.count == 1)
        #expect(admission.inFlight == 1)
    }

    @Test func waitForSlotReturnsOnCancellation() async {
        let admission = Admission(limit: 1)
        #expect(admission.tryAcquire())
        let waiter = Task {
            await admission.waitForSlot()
            return Task.isCancelled
        }
        for _ in 0..<1_000 { await Task.yield() }
        waiter.cancel()
        #expect(await waiter.value)
        // Cancellation frees nothing.
        #expect(admission.inFlight == 1)
        #expect(!admission.tryAcquire())
    }

    @Test func waitForSlotInAnAlreadyCancelledTaskReturns() async {
        let admission = Admission(limit: 1)
        #expect(admission.tryAcquire())
        let waiter = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await admission.waitForSlot()
            return Task.isCancelled
        }
        #expect(await waiter.value)
    }

    @Test func cancellingOneWaiterLeavesTheOthersWaitingForTheSlot() async {
        let admission = Admission(limit: 1)
        #expect(admission.tryAcquire())
        let released = Flag()
        let cancelled = Task { await admission.waitForSlot() }
        // The worker's loop: wait, then try; a wake-up that finds no slot just waits again.
        let patient = Task {
            while !admission.tryAcquire() {
                await admission.waitForSlot()
                if Task.isCancelled { return false }
            }
            return released.isSet
        }
        for _ in 0..<1_000 { await Task.yield() }
        cancelled.cancel()
        await cancelled.value
        for _ in 0..<1_000 { await Task.yield() }
        released.set()
        admission.release()
        #expect(await patient.value, "the patient waiter got a slot before it was released")
    }

    @Test func waitUntilIdle() async {
        let admission = Admission(limit: 3)
        #expect(await admission.waitUntilIdle(until: .now))
        #expect(admission.tryAcquire())
        #expect(await !admission.waitUntilIdle(until: .now - .seconds(1)))
        admission.release()
        #expect(await admission.waitUntilIdle(until: .now - .seconds(1)))
    }
}
