import LLMQKafka
import LLMQTesting
import Testing

/// The consumer's flow state machine, without librdkafka (issue 10, defect 1: a full worker could
/// stay paused for good after a rebalance).
@Suite("ConsumerFlow: leases, read-ahead, pause/resume and offsets")
struct ConsumerFlowTests {
    static let p0 = TopicPartition("jobs", 0)
    static let p1 = TopicPartition("jobs", 1)
    static let p2 = TopicPartition("jobs", 2)

    static func message(_ tp: TopicPartition, _ offset: Int64, bytes: Int = 10) -> ConsumerMessage {
        ConsumerMessage(topic: tp.topic, partition: tp.partition, offset: offset, value: Array(repeating: 0x61, count: bytes))
    }

    @Test("the issue's scenario: full, paused, a revoke and a new assignment; fetching resumes once leasing catches up")
    func fullWorkerResumesAfterRebalance() throws {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 2, readAheadMessages: 4))
        #expect(flow.assigned([Self.p0, Self.p1]).isEmpty)
        _ = flow.received(Self.message(Self.p0, 0))
        _ = flow.received(Self.message(Self.p1, 0))
        let first = try #require(flow.lease().0)
        let second = try #require(flow.lease().0)
        #expect(flow.lease().0 == nil, "full: no third lease")
        _ = flow.received(Self.message(Self.p0, 1))
        _ = flow.received(Self.message(Self.p1, 1))
        _ = flow.received(Self.message(Self.p1, 2))
        #expect(flow.received(Self.message(Self.p1, 3)) == [.pause([Self.p0, Self.p1])])
        #expect(!flow.fetching)

        // A second replica joins: p1 moves away (cooperative), its buffered messages go with it,
        // and the buffer is low again, so the partition that stays resumes at once.
        #expect(flow.revoking([Self.p1]) == [.resume([Self.p0])])
        #expect(flow.fetching)
        _ = flow.finished(second, completed: false)  // p1's job cancelled by the revoke
        _ = flow.revoked([Self.p1])
        // A partition assigned while fetching is on is not paused.
        #expect(flow.assigned([Self.p2]).isEmpty)
        #expect(flow.finished(first, completed: true) == [.store(TopicPartitionOffset(Self.p0, offset: 1))])
        #expect(flow.lease().0?.message.offset == 1)
    }

    @Test("a partition assigned while fetching is paused is paused too, and resumed with the others")
    func newPartitionFollowsThePause() throws {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 1, readAheadMessages: 2))
        _ = flow.assigned([Self.p0])
        _ = flow.received(Self.message(Self.p0, 0))
        _ = flow.received(Self.message(Self.p0, 1))
        #expect(!flow.fetching)
        #expect(flow.assigned([Self.p1]) == [.pause([Self.p1])])
        let lease = try #require(flow.lease().0)
        #expect(flow.fetching == true, "one of two left: at half, fetching resumes")
        _ = flow.finished(lease, completed: true)
    }

    /// Found in review: librdkafka 2.0.2 keeps the application's pause flag on a partition across
    /// an unassign, so a partition revoked while paused came back paused and was never fetched.
    @Test("a partition revoked while paused and assigned back is resumed")
    func pausedPartitionComesBackResumed() {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 1, readAheadMessages: 2))
        _ = flow.assigned([Self.p0])
        _ = flow.received(Self.message(Self.p0, 0))
        #expect(flow.received(Self.message(Self.p0, 1)) == [.pause([Self.p0])])
        _ = flow.revoking([Self.p0])  // the buffer empties; nothing left to resume
        _ = flow.revoked([Self.p0])
        #expect(flow.fetching)
        #expect(flow.assigned([Self.p0]) == [.resume([Self.p0])], "librdkafka still holds it paused")
    }

    @Test("messages of partitions not assigned, or being revoked, are dropped; so are repeats")
    func staleMessagesAreDropped() {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 10, readAheadMessages: 100))
        _ = flow.received(Self.message(Self.p0, 0))
        #expect(flow.bufferedCount == 0)
        _ = flow.assigned([Self.p0])
        _ = flow.received(Self.message(Self.p0, 5))
        _ = flow.received(Self.message(Self.p0, 5))
        #expect(flow.lease().0?.message.offset == 5)
        #expect(flow.lease().0 == nil, "a repeat of offset 5 is not leased twice")
        _ = flow.revoking([Self.p0])
        _ = flow.received(Self.message(Self.p0, 6))
        #expect(flow.bufferedCount == 0)
    }

    @Test("a lease of an earlier assignment frees its slot but stores nothing")
    func leaseOfEarlierAssignment() throws {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 1, readAheadMessages: 10))
        _ = flow.assigned([Self.p0])
        _ = flow.received(Self.message(Self.p0, 0))
        let old = try #require(flow.lease().0)
        _ = flow.revoking([Self.p0])
        #expect(!flow.isCurrent(old))
        _ = flow.revoked([Self.p0])
        _ = flow.assigned([Self.p0])
        _ = flow.received(Self.message(Self.p0, 0))
        #expect(flow.finished(old, completed: true).isEmpty)
        #expect(flow.inFlight == 0)
        let fresh = try #require(flow.lease().0)
        #expect(flow.isCurrent(fresh))
        #expect(flow.finished(fresh, completed: true) == [.store(TopicPartitionOffset(Self.p0, offset: 1))])
    }

    @Test("the byte bound pauses fetching too")
    func byteBound() {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 1, readAheadMessages: 1000, readAheadBytes: 1000))
        _ = flow.assigned([Self.p0])
        #expect(flow.received(Self.message(Self.p0, 0, bytes: 600)).isEmpty)
        #expect(flow.received(Self.message(Self.p0, 1, bytes: 600)) == [.pause([Self.p0])])
    }

    /// Random events, thousands of times: fetching is never paused while the buffer is at or below
    /// half its bound, leases never exceed the limit, and once everything is leased and finished
    /// the flow is fetching. This is why no sequence of events can stall a full worker.
    @Test("no sequence of events leaves the flow paused with nothing to lease", arguments: 0..<20)
    func neverStalls(seed: UInt64) {
        var rng = SeededRandom(seed: 0xF10_0000 + seed)
        let limits = FlowLimits(maxInFlight: Int.random(in: 1...4, using: &rng), readAheadMessages: Int.random(in: 2...8, using: &rng))
        var flow = ConsumerFlow(limits: limits)
        let all = [Self.p0, Self.p1, Self.p2]
        var assigned: Set<TopicPartition> = []
        var nextOffset: [TopicPartition: Int64] = [:]
        var leases: [ConsumerLease] = []
        var paused: Set<TopicPartition> = []

        func apply(_ actions: [ConsumerFlow.Action]) {
            for action in actions {
                switch action {
                case .pause(let tps): paused.formUnion(tps)
                case .resume(let tps): paused.subtract(tps)
                case .store: break
                }
            }
        }
        for _ in 0..<2_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:
                let tp = all.randomElement(using: &rng)!
                if !assigned.contains(tp) {
                    assigned.insert(tp)
                    nextOffset[tp] = 0
                    apply(flow.assigned([tp]))
                }
            case 1:
                let tp = all.randomElement(using: &rng)!
                if assigned.contains(tp) {
                    apply(flow.revoking([tp]))
                    for lease in leases where lease.message.topicPartition == tp { apply(flow.finished(lease, completed: false)) }
                    leases.removeAll { $0.message.topicPartition == tp }
                    apply(flow.revoked([tp]))
                    assigned.remove(tp)
                    // librdkafka keeps a partition's pause flag across unassign and assign.
                }
            case 2...5:
                // librdkafka delivers only from partitions that are assigned and not paused.
                if let tp = assigned.subtracting(paused).randomElement(using: &rng) {
                    apply(flow.received(Self.message(tp, nextOffset[tp]!)))
                    nextOffset[tp]! += 1
                }
            case 6, 7:
                let (lease, actions) = flow.lease()
                apply(actions)
                if let lease { leases.append(lease) }
            default:
                if !leases.isEmpty {
                    let lease = leases.remove(at: Int.random(in: 0..<leases.count, using: &rng))
                    apply(flow.finished(lease, completed: Bool.random(using: &rng)))
                }
            }
            #expect(flow.inFlight <= limits.maxInFlight)
            #expect(flow.inFlight == leases.count)
            if !flow.fetching { #expect(flow.bufferedCount > limits.readAheadMessages / 2) }
            #expect(flow.fetching == paused.isDisjoint(with: assigned) || assigned.isEmpty,
                    "librdkafka's pause state follows the flow's decision for every assigned partition")
        }
        // Drain: finish every lease and lease everything buffered; fetching must be on at the end.
        while true {
            for lease in leases { apply(flow.finished(lease, completed: true)) }
            leases.removeAll()
            let (lease, actions) = flow.lease()
            apply(actions)
            guard let lease else { break }
            leases.append(lease)
        }
        #expect(flow.fetching)
        #expect(paused.isDisjoint(with: assigned))
    }
}
