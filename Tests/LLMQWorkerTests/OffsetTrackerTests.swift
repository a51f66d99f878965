import LLMQKafka
import LLMQTesting
import Testing

@testable import LLMQWorker


/// The tracker behind a reference, so that its mutating calls can sit inside `#expect`.
private final class Tracker {
    private var tracker = OffsetTracker()
    func assign(_ tps: [TopicPartition]) { tracker.assign(tps) }
    func revoke(_ tps: [TopicPartition]) { tracker.revoke(tps) }
    func isAssigned(_ tp: TopicPartition) -> Bool { tracker.isAssigned(tp) }
    @discardableResult func start(_ tp: TopicPartition, offset: Int64) -> Bool { tracker.start(tp, offset: offset) }
    func finish(_ tp: TopicPartition, offset: Int64) -> Int64? { tracker.finish(tp, offset: offset) }
    func inFlight(_ tp: TopicPartition) -> Int { tracker.inFlight(tp) }
}

@Suite("OffsetTracker")
struct OffsetTrackerTests {
    let p0 = TopicPartition("llmq.jobs", 0)
    let p1 = TopicPartition("llmq.jobs", 1)

    // MARK: edge cases

    @Test func finishInOrderAdvancesEachTime() {
        let tracker = Tracker()
        tracker.assign([p0])
        for offset in Int64(10)...12 { #expect(tracker.start(p0, offset: offset)) }
        #expect(tracker.inFlight(p0) == 3)
        #expect(tracker.finish(p0, offset: 10) == 11)
        #expect(tracker.finish(p0, offset: 11) == 12)
        #expect(tracker.finish(p0, offset: 12) == 13)
        #expect(tracker.inFlight(p0) == 0)
    }

    @Test func finishOutOfOrderWaitsForTheLowest() {
        let tracker = Tracker()
        tracker.assign([p0])
        for offset: Int64 in [5, 6, 9, 20] { tracker.start(p0, offset: offset) }
        // Nothing moves while 5 is in flight: storing 5 again would be useless, and storing it
        // late (after a higher mark from another job) would move the stored offset backwards.
        #expect(tracker.finish(p0, offset: 9) == nil)
        #expect(tracker.finish(p0, offset: 20) == nil)
        #expect(tracker.inFlight(p0) == 2)
        #expect(tracker.finish(p0, offset: 6) == nil)
        // 5 done: everything started is done, so the next to consume is past the last started.
        #expect(tracker.finish(p0, offset: 5) == 21)
        #expect(tracker.inFlight(p0) == 0)
    }

    @Test func gapsBetweenOffsetsAreSkipped() {
        let tracker = Tracker()
        tracker.assign([p0])
        tracker.start(p0, offset: 100)
        tracker.start(p0, offset: 250)  // 101...249 were compacted away or transaction markers
        #expect(tracker.finish(p0, offset: 100) == 250)
        #expect(tracker.finish(p0, offset: 250) == 251)
    }

    @Test func finishOfUnknownOffsetReturnsNil() {
        let tracker = Tracker()
        tracker.assign([p0])
        #expect(tracker.finish(p0, offset: 0) == nil)  // nothing started
        tracker.start(p0, offset: 3)
        #expect(tracker.finish(p0, offset: 4) == nil)
        #expect(tracker.finish(p0, offset: 2) == nil)
        #expect(tracker.finish(p1, offset: 3) == nil)  // partition not assigned
        #expect(tracker.inFlight(p0) == 1)
        #expect(tracker.finish(p0, offset: 3) == 4)
        #expect(tracker.finish(p0, offset: 3) == nil)  // finished twice
    }

    @Test func finishTwiceWhileStillBlockedReturnsNil() {
        let tracker = Tracker()
        tracker.assign([p0])
        tracker.start(p0, offset: 1)
        tracker.start(p0, offset: 2)
        // Finishing behind an unfinished job moves nothing: nothing to store.
        #expect(tracker.finish(p0, offset: 2) == nil)
        #expect(tracker.finish(p0, offset: 2) == nil)
        #expect(tracker.inFlight(p0) == 1)
        #expect(tracker.finish(p0, offset: 1) == 3)
    }

    @Test func startOnUnassignedPartitionReturnsFalse() {
        let tracker = Tracker()
        #expect(!tracker.isAssigned(p0))
        #expect(!tracker.start(p0, offset: 0))
        tracker.assign([p1])
        #expect(!tracker.start(p0, offset: 0))
        #expect(tracker.inFlight(p0) == 0)
        #expect(tracker.start(p1, offset: 0))
    }

    @Test func repeatedOrLowerStartReturnsFalse() {
        let tracker = Tracker()
        tracker.assign([p0])
        #expect(tracker.start(p0, offset: 7))
        #expect(!tracker.start(p0, offset: 7))
        #expect(!tracker.start(p0, offset: 6))
        #expect(!tracker.start(p0, offset: 0))
        #expect(tracker.inFlight(p0) == 1)
        #expect(tracker.finish(p0, offset: 7) == 8)
        // Still a repeat after it finished.
        #expect(!tracker.start(p0, offset: 7))
        #expect(tracker.start(p0, offset: 8))
    }

    @Test func revokeForgetsInFlightJobs() {
        let tracker = Tracker()
        tracker.assign([p0, p1])
        tracker.start(p0, offset: 1)
        tracker.start(p1, offset: 1)
        tracker.revoke([p0])
        #expect(!tracker.isAssigned(p0))
        #expect(tracker.isAssigned(p1))
        #expect(tracker.inFlight(p0) == 0)
        // A job of the revoked partition finishing late stores nothing.
        #expect(tracker.finish(p0, offset: 1) == nil)
        #expect(tracker.finish(p1, offset: 1) == 2)
    }

    @Test func reassignResets() {
        let tracker = Tracker()
        tracker.assign([p0])
        tracker.start(p0, offset: 10)
        tracker.start(p0, offset: 11)
        #expect(tracker.finish(p0, offset: 11) == nil)
        tracker.revoke([p0])
        tracker.assign([p0])
        #expect(tracker.inFlight(p0) == 0)
        #expect(tracker.finish(p0, offset: 10) == nil)  // the old job is not tracked any more
        // Redelivery from the committed position: lower offsets start again.
        #expect(tracker.start(p0, offset: 10))
        #expect(tracker.finish(p0, offset: 10) == 11)
    }

    @Test func assignWithoutRevokeAlsoResets() {
        let tracker = Tracker()
        tracker.assign([p0])
        tracker.start(p0, offset: 10)
        #expect(tracker.finish(p0, offset: 10) == 11)
        tracker.assign([p0])
        #expect(tracker.start(p0, offset: 5))
        // The same value as reported before the reset is reported again: it belongs to the new assignment.
        tracker.start(p0, offset: 10)
        #expect(tracker.finish(p0, offset: 5) == 10)
        #expect(tracker.finish(p0, offset: 10) == 11)
    }

    @Test func partitionsAreIndependent() {
        let tracker = Tracker()
        let other = TopicPartition("other.jobs", 0)
        tracker.assign([p0, p1, other])
        tracker.start(p0, offset: 1)
        tracker.start(p1, offset: 1)
        tracker.start(other, offset: 1)
        #expect(tracker.finish(p1, offset: 1) == 2)
        #expect(tracker.inFlight(p0) == 1)
        #expect(tracker.inFlight(other) == 1)
        #expect(tracker.finish(other, offset: 1) == 2)
        #expect(tracker.finish(p0, offset: 1) == 2)
    }

    @Test func extremeOffsets() {
        let tracker = Tracker()
        tracker.assign([p0])
        #expect(tracker.start(p0, offset: 0))
        #expect(tracker.start(p0, offset: Int64.max - 1))
        #expect(tracker.finish(p0, offset: Int64.max - 1) == nil)
        #expect(tracker.finish(p0, offset: 0) == Int64.max)
    }

    // MARK: properties

    /// What the test knows about one assignment of one partition.
    private struct Model {
        var started: [Int64] = []
        var finished: Set<Int64> = []
        var lastReturned: Int64?
        var unfinished: [Int64] { started.filter { !finished.contains($0) } }
        /// The offset the tracker should store now: the lowest unfinished, else last started + 1.
        var expected: Int64? { unfinished.first ?? started.last.map { $0 + 1 } }
    }

    /// Offsets (with random gaps) start in order on random partitions and finish in random order,
    /// with revokes and reassignments in between. Checked after every step:
    /// - a returned offset has every started offset below it finished;
    /// - returned offsets strictly increase within one assignment;
    /// - a value is returned exactly when the lowest unfinished job finished and the storable
    ///   offset moved past what was last returned (so nothing is stored late, or backwards);
    /// - once everything has finished, the last returned value is the last started + 1.
    @Test(arguments: 0..<8)
    func randomRunsKeepTheInvariants(batch: Int) throws {
        var rng = SeededRandom(seed: 0xC0FFEE &+ UInt64(batch))
        for _ in 0..<50 {
            let partitions = (0..<Int32.random(in: 1...4, using: &rng)).map { TopicPartition("llmq.jobs", $0) }
            let tracker = Tracker()
            var models: [TopicPartition: Model] = [:]
            var nextOffset: [TopicPartition: Int64] = [:]
            for tp in partitions { nextOffset[tp] = Int64.random(in: 0...1_000, using: &rng) }

            func assign(_ tp: TopicPartition) {
                tracker.assign([tp])
                models[tp] = Model()
                // After a rebalance consumption resumes from the committed position, often below what was started.
                nextOffset[tp] = max(0, nextOffset[tp]! - Int64.random(in: 0...20, using: &rng))
            }

            func finish(_ tp: TopicPartition, _ offset: Int64) throws {
                var model = try #require(models[tp])
                let before = model.expected
                let wasFront = model.unfinished.first == offset
                model.finished.insert(offset)
                let returned = tracker.finish(tp, offset: offset)
                let after = model.expected
                if let returned {
                    #expect(returned == after)
                    #expect(model.started.allSatisfy { $0 >= returned || model.finished.contains($0) },
                            "returned \(returned) with an unfinished offset below it")
                    if let last = model.lastReturned { #expect(returned > last) }
                    model.lastReturned = returned
                } else {
                    #expect(!wasFront || after == model.lastReturned,
                            "\(tp): the front finished, storable moved \(String(describing: before)) → \(String(describing: after)), but finish returned nil")
                }
                if returned != nil { #expect(wasFront, "\(tp): returned a value although a job behind the front finished") }
                models[tp] = model
                #expect(tracker.inFlight(tp) == model.unfinished.count)
            }

            for tp in partitions where Bool.random(using: &rng) { assign(tp) }
            for _ in 0..<Int.random(in: 20...300, using: &rng) {
                let tp = partitions.randomElement(using: &rng)!
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<45:  // start the next offset, with a random gap
                    let offset = nextOffset[tp]! + Int64.random(in: 0...3, using: &rng)
                    nextOffset[tp] = offset + 1
                    let accepted = tracker.start(tp, offset: offset)
                    if models[tp] != nil {
                        #expect(accepted)
                        models[tp]!.started.append(offset)
                    } else {
                        #expect(!accepted)
                    }
                case 45..<85:  // finish a random in-flight job
                    if let offset = models[tp]?.unfinished.randomElement(using: &rng) {
                        try finish(tp, offset)
                    } else {
                        #expect(tracker.finish(tp, offset: nextOffset[tp]! + 1) == nil)
                    }
                case 85..<90:  // a repeat of an already started offset
                    if let model = models[tp], let offset = model.started.randomElement(using: &rng) {
                        #expect(!tracker.start(tp, offset: offset))
                        #expect(tracker.inFlight(tp) == model.unfinished.count)
                    }
                case 90..<95:
                    tracker.revoke([tp])
                    models[tp] = nil
                    #expect(!tracker.isAssigned(tp))
                    #expect(tracker.inFlight(tp) == 0)
                default:
                    assign(tp)
                    #expect(tracker.isAssigned(tp))
                    #expect(tracker.inFlight(tp) == 0)
                }
            }

            // Drain: finish whatever is left in random order.
            for tp in partitions {
                guard var model = models[tp] else { continue }
                for offset in model.unfinished.shuffled(using: &rng) { try finish(tp, offset) }
                model = models[tp]!
                #expect(tracker.inFlight(tp) == 0)
                if let last = model.started.last {
                    #expect(model.lastReturned == last + 1, "\(tp): started up to \(last), last stored \(String(describing: model.lastReturned))")
                } else {
                    #expect(model.lastReturned == nil)
                }
            }
        }
    }
}

@Suite("CancelRegistry")
struct CancelRegistryTests {
    @Test("remembers the most recent ids up to its capacity")
    func boundedMemory() {
        var registry = CancelRegistry(capacity: 3)
        for id in ["a", "b", "a", "c", "d"] { registry.insert(id) }
        #expect(registry.count == 3)
        #expect(!registry.contains("a"), "the oldest is forgotten first")
        #expect(registry.contains("b") && registry.contains("c") && registry.contains("d"))
    }
}
