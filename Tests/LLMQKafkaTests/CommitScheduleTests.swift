@testable import LLMQKafka
import Testing

/// When commits are sent (issue 10, defect 13): at once, one at a time, never while the group rebalances.
@Suite("CommitSchedule")
struct CommitScheduleTests {
    let t0 = ContinuousClock.now

    @Test("a store sends a commit at once; stores meanwhile send one more, spaced, once it returns")
    func oneAtATime() {
        var schedule = CommitSchedule(hold: .seconds(10))
        let r1 = schedule.stored(at: t0)
        #expect(r1)
        let r2 = schedule.stored(at: t0)
        #expect(!r2)
        let r3 = schedule.stored(at: t0)
        #expect(!r3)
        let r4 = schedule.returned(rebalancing: false, at: t0)
        #expect(!r4, "too soon after the last one")
        let spaced = schedule.tick(at: t0 + .milliseconds(100))
        #expect(spaced, "one commit for both stores, once spaced")
        let r5 = schedule.returned(rebalancing: false, at: t0)
        #expect(!r5, "nothing new stored")
    }

    @Test("a commit refused for a rebalance holds commits until the rebalance completes")
    func heldDuringRebalance() {
        var schedule = CommitSchedule(hold: .seconds(10))
        let r6 = schedule.stored(at: t0)
        #expect(r6)
        let r7 = schedule.returned(rebalancing: true, at: t0 + .milliseconds(5))
        #expect(!r7)
        let r8 = schedule.stored(at: t0 + .seconds(1))
        #expect(!r8, "held: no commit with the old generation")
        let r9 = schedule.tick(at: t0 + .seconds(2))
        #expect(!r9)
        let r10 = schedule.assigned(at: t0 + .seconds(3))
        #expect(r10, "the held offsets go once it completes")
    }

    @Test("a hold ends by itself when no rebalance callback comes")
    func holdExpires() {
        var schedule = CommitSchedule(hold: .seconds(10))
        let r11 = schedule.stored(at: t0)
        #expect(r11)
        let r12 = schedule.returned(rebalancing: true, at: t0)
        #expect(!r12)
        let r13 = schedule.tick(at: t0 + .seconds(9))
        #expect(!r13)
        let r14 = schedule.tick(at: t0 + .seconds(10))
        #expect(r14)
        let r15 = schedule.tick(at: t0 + .seconds(11))
        #expect(!r15, "once")
    }

    @Test("after a cooperative revoke, commits wait for the follow-up round's assign")
    func cooperativeRevokeHoldsForTwoRounds() {
        var schedule = CommitSchedule(hold: .seconds(10))
        schedule.revoking(cooperative: true, at: t0)
        let first = schedule.stored(at: t0 + .milliseconds(1))
        #expect(!first)
        let endOfFirstRound = schedule.assigned(at: t0 + .milliseconds(2))
        #expect(!endOfFirstRound, "the first round's assign is followed by a second round at once")
        let endOfSecondRound = schedule.assigned(at: t0 + .seconds(3))
        #expect(endOfSecondRound)
    }

    @Test("commits go only while librdkafka reports the join state steady")
    func joinStateGates() {
        var schedule = CommitSchedule(hold: .seconds(10))
        let left = schedule.joinState(steady: false, at: t0)
        #expect(!left)
        let stored = schedule.stored(at: t0 + .seconds(1))
        #expect(!stored, "a commit sent now would carry the old generation")
        let ticked = schedule.tick(at: t0 + .seconds(30))
        #expect(!ticked, "no time limit: only the join state releases it")
        let back = schedule.joinState(steady: true, at: t0 + .seconds(31))
        #expect(back, "steady again: the held offsets go")
    }
}
