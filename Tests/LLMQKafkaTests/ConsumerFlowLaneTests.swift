import LLMQKafka
import Testing

/// Priority lanes and the run-time lease limit of the consumer's flow (issue 12), without librdkafka.
@Suite("ConsumerFlow: priority lanes and the lease limit")
struct ConsumerFlowLaneTests {
    static let hi = TopicPartition("interactive", 0)
    static let lo = TopicPartition("batch", 0)

    static func message(_ tp: TopicPartition, _ offset: Int64) -> ConsumerMessage {
        ConsumerMessage(topic: tp.topic, partition: tp.partition, offset: offset, value: Array(repeating: 0x61, count: 10))
    }

    /// Leases `count` messages one at a time, finishing each at once; returns their topics in order.
    static func drain(_ flow: inout ConsumerFlow, count: Int) -> [String] {
        var topics: [String] = []
        for _ in 0..<count {
            guard let lease = flow.lease().0 else { break }
            topics.append(lease.message.topic)
            _ = flow.finished(lease, completed: true)
        }
        return topics
    }

    @Test("waiting lanes are leased in proportion to their weights; a lone lane gets every lease")
    func weightedShares() {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 1, readAheadMessages: 1000, laneWeights: ["interactive": 3, "batch": 1]))
        _ = flow.assigned([Self.hi, Self.lo])
        for offset in 0..<100 {
            _ = flow.received(Self.message(Self.lo, Int64(offset)))
            _ = flow.received(Self.message(Self.hi, Int64(offset)))
        }
        let first = Self.drain(&flow, count: 40)
        #expect(first.filter { $0 == "interactive" }.count == 30, "3 : 1 while both wait: \(first)")
        // Every window of 4 leases has exactly one batch lease: no lane waits more than its turn.
        for window in stride(from: 0, to: 40, by: 4) {
            #expect(first[window..<window + 4].filter { $0 == "batch" }.count == 1)
        }
        let rest = Self.drain(&flow, count: 200)
        #expect(rest.filter { $0 == "interactive" }.count == 70 && rest.filter { $0 == "batch" }.count == 90,
                "once the interactive lane is empty the batch lane gets every lease")
    }

    @Test("a lane that was idle rejoins at the others' position: no burst of banked credit")
    func idleLaneDoesNotBankCredit() {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 1, readAheadMessages: 1000, laneWeights: ["interactive": 1, "batch": 1]))
        _ = flow.assigned([Self.hi, Self.lo])
        for offset in 0..<50 { _ = flow.received(Self.message(Self.lo, Int64(offset))) }
        #expect(Self.drain(&flow, count: 30).allSatisfy { $0 == "batch" })
        for offset in 0..<20 { _ = flow.received(Self.message(Self.hi, Int64(offset))) }
        let mixed = Self.drain(&flow, count: 10)
        #expect(mixed.filter { $0 == "batch" }.count >= 4, "equal weights alternate, the batch lane is not shut out for 30 leases: \(mixed)")
    }

    @Test("each lane pauses on its own: a full batch lane does not stop the interactive lane's fetching")
    func lanesPauseSeparately() {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 1, readAheadMessages: 4))
        _ = flow.assigned([Self.hi, Self.lo])
        var actions: [ConsumerFlow.Action] = []
        for offset in 0..<4 { actions += flow.received(Self.message(Self.lo, Int64(offset))) }
        #expect(actions == [.pause([Self.lo])])
        #expect(!flow.fetching, "not every lane is fetching")
        #expect(flow.received(Self.message(Self.hi, 0)).isEmpty, "the interactive lane still fetches")
        #expect(flow.bufferedCount == 5)
        #expect(flow.oldestWaitingTimestampMs == nil)
    }

    @Test("the lease limit changes at run time: lowered, no lease until enough finish; raised, leases at once")
    func leaseLimitChanges() {
        var flow = ConsumerFlow(limits: FlowLimits(maxInFlight: 3, readAheadMessages: 100))
        _ = flow.assigned([Self.lo])
        for offset in 0..<10 { _ = flow.received(Self.message(Self.lo, Int64(offset))) }
        let leases = (0..<3).compactMap { _ in flow.lease().0 }
        #expect(leases.count == 3)
        _ = flow.setMaxInFlight(1)
        _ = flow.finished(leases[0], completed: true)
        #expect(!flow.canLease && flow.lease().0 == nil, "2 out, limit 1")
        _ = flow.finished(leases[1], completed: true)
        _ = flow.finished(leases[2], completed: true)
        #expect(flow.lease().0 != nil && !flow.canLease)
        _ = flow.setMaxInFlight(4)
        #expect(flow.canLease)
        _ = flow.setMaxInFlight(0)
        #expect(flow.limits.maxInFlight == 1, "never below one")
    }
}
