import DequeModule

/// The job ids a cancel request named, most recent kept: bounded memory however many cancels the
/// control topic holds. A plain struct, unit-tested on its own.
struct CancelRegistry: Sendable {
    /// How many ids are remembered; the oldest is forgotten first.
    let capacity: Int
    private var ids: Set<String> = []
    private var order: Deque<String> = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func insert(_ id: String) {
        guard ids.insert(id).inserted else { return }
        order.append(id)
        while order.count > capacity, let oldest = order.popFirst() { ids.remove(oldest) }
    }

    func contains(_ id: String) -> Bool { ids.contains(id) }
    var count: Int { ids.count }
}
