import DequeModule
import LLMQCore

/// The gateway's memory of recent jobs: for each, the events of its current stream (by the stream
/// rule), its result, and whether it was queued or cancelled. Late joiners and reconnecting
/// clients are served from here. A plain struct: `GatewayHub` owns it under a lock.
///
/// Bounds: at most `maxJobs` jobs and about `maxBytes` of events (the oldest first seen leave
/// first), a job leaves once it had no event for `maxAge`, and at most `maxEventsPerJob` events of
/// a stream are kept (later ones still reach connected clients but not late joiners). A job that left the window is unknown:
/// `GET /v1/jobs/{id}` answers 404 and its event stream waits for new events.
struct JobWindow {
    struct Limits: Sendable {
        var maxJobs: Int
        var maxAgeMs: Int64
        var maxEventsPerJob: Int
        var maxBytes: Int
    }

    /// What the window knows of one job.
    struct Record {
        var id: String
        var firstSeenMs: Int64
        var lastActivityMs: Int64
        var queued = false
        /// The start of the job's last user message, when its job message was read.
        var prompt: String?
        var cancelRequested = false
        var streamID: String?
        var attempt = 0
        /// The last stream whose final event (`end` or `abort`) arrived, by any stream rule: a
        /// result naming it may be delivered (see `GatewayHub`'s held results).
        var endedStreamID: String?
        /// The current stream's events in seq order, its `start` first.
        var events: [HubEvent] = []
        var result: HubEvent?
        /// What this record holds, as counted against `maxBytes`.
        var bytes = 0

        var resultValue: JobResult? {
            if case .result(let result, _)? = result?.kind { return result }
            return nil
        }

        /// The current stream's text so far.
        var text: String {
            var text = ""
            for event in events { if case .chunk(let chunk) = event.kind, case .delta(let piece) = chunk.kind { text += piece } }
            return text
        }
    }

    let limits: Limits
    private(set) var jobs: [String: Record] = [:]
    /// The sum of the records' `bytes`.
    private(set) var bytes = 0
    /// Job ids by first sighting, for eviction (an id may appear again after it left: check firstSeenMs).
    private var order: Deque<(id: String, firstSeenMs: Int64)> = []

    init(limits: Limits) { self.limits = limits }

    subscript(id: String) -> Record? { jobs[id] }

    /// The most recently first-seen jobs, newest first.
    func recent(_ count: Int) -> [Record] {
        var result: [Record] = []
        for entry in order.reversed() where result.count < count {
            if let record = jobs[entry.id], record.firstSeenMs == entry.firstSeenMs { result.append(record) }
        }
        return result
    }

    /// Records that a job was submitted or seen on the jobs topic. Returns false when the window
    /// already knew the job (a repeated id).
    @discardableResult
    mutating func noteQueued(_ id: String, prompt: String? = nil, now: Int64) -> Bool {
        let known = jobs[id] != nil
        update(id, now: now) { record in
            record.queued = true
            if let prompt { record.prompt = prompt }
        }
        return !known
    }

    mutating func noteCancel(_ id: String, now: Int64) {
        update(id, now: now) { $0.cancelRequested = true }
    }

    /// Applies a chunk event by the stream rule. Returns the event when clients should see it
    /// (a new stream's start, or an unseen event of the current stream).
    mutating func apply(chunk: ChunkEvent, event: HubEvent, now: Int64) -> Bool {
        var changed = false
        let maxEvents = limits.maxEventsPerJob
        update(chunk.jobID, now: now) { record in
            if chunk.isFinal { record.endedStreamID = chunk.streamID }
            if case .start = chunk.kind {
                guard record.streamID != chunk.streamID else { return }
                record.streamID = chunk.streamID
                record.attempt = chunk.attempt
                record.events = [event]
                changed = true
                return
            }
            guard record.streamID == chunk.streamID else { return }
            guard let last = record.events.last, case .chunk(let lastChunk) = last.kind else { return }
            if chunk.seq > lastChunk.seq {
                if record.events.count < maxEvents { record.events.append(event) }
                changed = true
            } else if !record.events.contains(where: { if case .chunk(let c) = $0.kind { c.seq == chunk.seq } else { false } }) {
                // Out of order (never on one partition, but cheap to honour): keep seq order.
                let index = record.events.firstIndex { if case .chunk(let c) = $0.kind { c.seq > chunk.seq } else { false } } ?? record.events.count
                record.events.insert(event, at: index)
                changed = true
            }
        }
        return changed
    }

    /// Stores a job's result (a later one replaces an earlier one: a redelivered job's).
    mutating func apply(result event: HubEvent, now: Int64) {
        update(event.jobID, now: now) { $0.result = event }
    }

    /// What a client joining now gets before live events: the current stream from `resume` on
    /// (all of it when `resume` names another stream or nothing), then the result if there is one.
    func backlog(for id: String, resume: ResumePoint?) -> [HubEvent] {
        guard let record = jobs[id] else { return [] }
        var events: [HubEvent] = []
        switch resume {
        case .result?:
            break
        case .chunk(let streamID, let seq)? where streamID == record.streamID:
            events = record.events.filter { if case .chunk(let c) = $0.kind { c.seq > seq } else { false } }
        default:
            events = record.events
        }
        if let result = record.result { events.append(result) }
        return events
    }

    private mutating func update(_ id: String, now: Int64, _ body: (inout Record) -> Void) {
        if jobs[id] == nil {
            jobs[id] = Record(id: id, firstSeenMs: now, lastActivityMs: now)
            order.append((id, now))
        }
        body(&jobs[id]!)
        jobs[id]!.lastActivityMs = now
        let size = Self.size(of: jobs[id]!)
        bytes += size - jobs[id]!.bytes
        jobs[id]!.bytes = size
        evict(now: now)
    }

    /// About what a record costs: each event's frame, its decoded copy and bookkeeping.
    static func size(of record: Record) -> Int {
        var size = 256 + record.id.utf8.count + (record.prompt?.utf8.count ?? 0)
        for event in record.events { size += 2 * event.frame.readableBytes + 96 }
        if let result = record.result { size += 2 * result.frame.readableBytes + 96 }
        return size
    }

    /// Drops the oldest jobs beyond `maxJobs`, and old jobs idle for `maxAge`.
    mutating func evict(now: Int64) {
        while let first = order.first {
            guard let record = jobs[first.id], record.firstSeenMs == first.firstSeenMs else {
                order.removeFirst()
                continue
            }
            let tooMany = jobs.count > limits.maxJobs || bytes > limits.maxBytes
            let idle = now - record.lastActivityMs >= limits.maxAgeMs
            guard tooMany || idle else { break }
            bytes -= record.bytes
            jobs[first.id] = nil
            order.removeFirst()
        }
    }
}

extension JobWindow {
    /// Forgets a job (a claim whose enqueue failed).
    mutating func forget(_ id: String) -> Record? {
        let record = jobs.removeValue(forKey: id)
        bytes -= record?.bytes ?? 0
        return record
    }
}
