/// When a consumer sends offset commits: as soon as offsets are stored, one at a time at most every
/// `spacing`, and never while the group is rebalancing.
///
/// Why the last rule: librdkafka 2.0.2 answers a commit that carries the generation before a
/// rebalance with ILLEGAL_GENERATION and then treats the whole assignment as lost, dropping every
/// stored offset: all work finished since the last commit runs again elsewhere (issue 10, defect
/// 13). A commit refused with REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID, or a
/// revoke, holds further commits until the rebalance completes (an assign callback; after a
/// cooperative revoke, the assign that ends the follow-up round) or `hold` has passed. The revoke
/// callback commits by itself, with a valid generation. The spacing keeps a commit from being in
/// flight nearly all the time under load: a commit on the wire at the moment the group's generation
/// changes is exactly the one answered ILLEGAL_GENERATION. A plain struct, unit-tested without librdkafka.
struct CommitSchedule: Sendable {
    /// How long commits stay held when no rebalance callback comes (a rebalance that changed
    /// nothing for this member).
    let hold: Duration
    /// The least time between two commits.
    let spacing: Duration
    private(set) var committing = false
    private var lastSent: ContinuousClock.Instant?
    /// Offsets were stored since the last commit was sent.
    private(set) var pending = false
    private var heldUntil: ContinuousClock.Instant?
    /// The join state librdkafka reports: commits go only while it is `steady`. Assumed steady until
    /// a report says otherwise (the holds above then cover what the reports would).
    private var groupSteady = true
    /// Assign callbacks still to come before a hold set by a revoke ends.
    private var assignsBeforeRelease = 0

    init(hold: Duration, spacing: Duration = .milliseconds(100)) {
        self.hold = hold
        self.spacing = spacing
    }

    func isHeld(at now: ContinuousClock.Instant) -> Bool { !groupSteady || (heldUntil.map { now < $0 } ?? false) }

    /// librdkafka reported a join state. Leaving `steady` holds commits at once: one sent after this
    /// member's JoinGroup still carries the old generation. Back to `steady`, held commits go.
    mutating func joinState(steady: Bool, at now: ContinuousClock.Instant) -> Bool {
        groupSteady = steady
        guard steady else { return false }
        heldUntil = nil
        assignsBeforeRelease = 0
        return sendIfAllowed(at: now)
    }

    /// Offsets were stored. True: send a commit now.
    mutating func stored(at now: ContinuousClock.Instant) -> Bool {
        pending = true
        return sendIfAllowed(at: now)
    }

    /// The commit in flight returned. True: send the next one now.
    mutating func returned(rebalancing: Bool, at now: ContinuousClock.Instant) -> Bool {
        committing = false
        if rebalancing {
            heldUntil = now + hold
            pending = true
        }
        return sendIfAllowed(at: now)
    }

    /// A revoke began. Under the cooperative protocol the round ends with an assign callback and a
    /// second round follows at once: commits stay held until that second round's assign.
    mutating func revoking(cooperative: Bool, at now: ContinuousClock.Instant) {
        heldUntil = now + hold
        assignsBeforeRelease = cooperative ? 2 : 1
    }

    /// An assign callback completed (or the assignment was dropped on an error). True: send a commit now.
    mutating func assigned(at now: ContinuousClock.Instant) -> Bool {
        assignsBeforeRelease = max(0, assignsBeforeRelease - 1)
        guard assignsBeforeRelease == 0 else { return false }
        heldUntil = nil
        return sendIfAllowed(at: now)
    }

    /// Called on every turn of the poll loop. True: a commit held (or spaced) until now may go.
    mutating func tick(at now: ContinuousClock.Instant) -> Bool {
        guard pending, !committing else { return false }
        if heldUntil != nil, !isHeld(at: now) {
            heldUntil = nil
            assignsBeforeRelease = 0
        }
        return sendIfAllowed(at: now)
    }

    private mutating func sendIfAllowed(at now: ContinuousClock.Instant) -> Bool {
        guard pending, !committing, !isHeld(at: now) else { return false }
        if let lastSent, now < lastSent + spacing { return false }
        pending = false
        committing = true
        lastSent = now
        return true
    }
}
