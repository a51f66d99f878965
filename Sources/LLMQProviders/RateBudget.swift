/// A token bucket that hands out reservations in arrival order: requests per minute or tokens
/// per minute, this replica's share of an account's limit.
///
/// `reserve` takes the cost at once, letting the level go below zero, and answers how long the
/// caller must wait until the level it drew from has refilled. So callers are served first come,
/// first served, none can starve, and a reservation once made is never taken back by a later
/// caller. The capacity is one second of the rate (at least one unit of cost): a replica never
/// bursts more than a second's worth, and replicas whose shares add up to 1 stay within the limit.
/// Time is a reading of a clock (`Duration` since any fixed origin), so tests drive it directly.
public struct RateBudget: Sendable {
    /// The account's limit, per minute.
    public let perMinute: Double
    /// This replica's share of it, in (0, 1].
    public private(set) var share: Double
    private var level: Double
    private var updated: Duration

    /// - Parameter startEmpty: start with nothing to spend (a budget learned from a response, whose
    ///   calls already spent what the provider's bucket held), instead of one second's worth.
    public init(perMinute: Int, share: Double = 1, now: Duration, startEmpty: Bool = false) {
        self.perMinute = Double(max(1, perMinute))
        self.share = Self.clamp(share)
        self.updated = now
        self.level = 0
        if !startEmpty { self.level = capacity }
    }

    /// Units refilled per second.
    public var perSecond: Double { perMinute * share / 60 }
    /// The most that can be used at once after an idle spell: one second of the rate, at least 1.
    public var capacity: Double { max(1, perSecond) }

    /// Takes `cost` and returns how long to wait before using it (zero when it is available now).
    public mutating func reserve(_ cost: Double, now: Duration) -> Duration {
        refill(now)
        level -= cost
        return level >= 0 ? .zero : .fromSeconds(-level / perSecond)
    }

    /// Gives back (positive) or takes more (negative): a cancelled reservation, or the difference
    /// between a call's estimated and its reported token usage.
    public mutating func adjust(by amount: Double, now: Duration) {
        refill(now)
        level = min(capacity, level + amount)
    }

    /// What could be taken now without waiting (negative: owed by reservations already made).
    public mutating func available(now: Duration) -> Double {
        refill(now)
        return level
    }

    /// A new share after a rebalance; the level keeps what was owed or saved, within the new capacity.
    public mutating func setShare(_ share: Double, now: Duration) {
        refill(now)
        self.share = Self.clamp(share)
        level = min(level, capacity)
    }

    private mutating func refill(_ now: Duration) {
        guard now > updated else { return }
        level = min(capacity, level + (now - updated).seconds * perSecond)
        updated = now
    }

    private static func clamp(_ share: Double) -> Double { min(1, max(share.isFinite ? share : 1, 1e-6)) }
}
