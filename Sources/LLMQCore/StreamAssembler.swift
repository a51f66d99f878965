/// Rebuilds each job's live text from chunk events by the stream rule: render the deltas of the
/// latest `start` seen for the job, in `seq` order, and ignore events of every other stream.
public struct StreamAssembler: Sendable {
    public struct JobView: Sendable, Hashable {
        public var streamID: String
        public var attempt: Int
        /// Deltas by seq, so out-of-order or repeated delivery still renders correctly.
        public var deltas: [Int: String] = [:]
        public var finished: ChunkEvent.Kind?
        /// The concatenated deltas in seq order.
        public var text: String { deltas.keys.sorted().map { deltas[$0]! }.joined() }
        /// True once the stream ended with `end`.
        public var isComplete: Bool { if case .end? = finished { true } else { false } }
    }

    public private(set) var jobs: [String: JobView] = [:]

    public init() {}

    /// Applies an event. Returns the job's view when the event changed what is shown.
    @discardableResult
    public mutating func apply(_ event: ChunkEvent) -> JobView? {
        if case .start = event.kind {
            // A repeated delivery of the current stream's start changes nothing.
            if jobs[event.jobID]?.streamID == event.streamID { return nil }
            let view = JobView(streamID: event.streamID, attempt: event.attempt)
            jobs[event.jobID] = view
            return view
        }
        guard var view = jobs[event.jobID], view.streamID == event.streamID else { return nil }
        switch event.kind {
        case .start: return nil
        case .delta(let text): view.deltas[event.seq] = text
        case .end, .abort: view.finished = event.kind
        }
        jobs[event.jobID] = view
        return view
    }
}
