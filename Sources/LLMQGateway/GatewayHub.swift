import Foundation
import LLMQCore
import LLMQKafka
import NIOCore
import Synchronization

/// Fans the topics out to this gateway's clients: every message of the jobs, chunks, results and
/// control topics passes through `apply` (on the Kafka poll thread), updates the window of recent
/// jobs and is pushed to the clients following that job and to those following every job.
///
/// Clients are registered and given their backlog under the same lock that applies events, so a
/// client never misses or repeats an event between its backlog and the live ones.
public final class GatewayHub: Sendable {
    public struct Topics: Sendable {
        public var jobs: String
        public var chunks: String
        public var results: String
        public var control: String
        public init(jobs: String, chunks: String, results: String, control: String) {
            self.jobs = jobs
            self.chunks = chunks
            self.results = results
            self.control = control
        }
    }

    /// Why a client could not be registered.
    public struct Refused: Error, Sendable {
        public var maxClients: Int
    }

    private struct State {
        var window: JobWindow
        var byJob: [String: [ObjectIdentifier: ClientStream]] = [:]
        var everyJob: [ObjectIdentifier: ClientStream] = [:]
        var clients = 0
        /// Results read before their stream's final event, by job id (see `apply`).
        var heldResults: [String: HeldResult] = [:]
        var nextHoldToken = 0
    }

    /// A result waiting for the final event of the stream it names.
    private struct HeldResult {
        var event: HubEvent
        var streamID: String
        var token: Int
    }

    let topics: Topics
    let maxClients: Int
    let clientBufferBytes: Int
    private let state: Mutex<State>
    private let clock: @Sendable () -> Int64
    /// How long a result waits for its stream's final event before it is delivered anyway.
    let resultHold: Duration

    public init(topics: Topics, maxClients: Int, clientBufferBytes: Int, windowJobs: Int, window: Duration,
                windowBytes: Int = 128 << 20, maxEventsPerJob: Int = 50_000, resultHold: Duration = .seconds(1),
                clock: @escaping @Sendable () -> Int64 = GatewayHub.wallClockMs) {
        self.topics = topics
        self.resultHold = resultHold
        self.maxClients = maxClients
        self.clientBufferBytes = clientBufferBytes
        self.clock = clock
        let limits = JobWindow.Limits(maxJobs: windowJobs, maxAgeMs: window.wholeMilliseconds, maxEventsPerJob: maxEventsPerJob, maxBytes: windowBytes)
        state = Mutex(State(window: JobWindow(limits: limits)))
    }

    public static func wallClockMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: - Input

    /// Applies one message of a followed topic.
    public func apply(_ message: ConsumerMessage) {
        let now = clock()
        switch message.topic {
        case topics.chunks:
            guard let chunk = ChunkEvent.decode(message.value) else { return }
            let frame = SSEFrame.event(id: HubEvent.eventID(streamID: chunk.streamID, seq: chunk.seq), name: HubEvent.eventName(chunk),
                                       data: message.value)
            let event = HubEvent(jobID: chunk.jobID, kind: .chunk(chunk), frame: frame, timestampMs: message.timestampMs)
            state.withLock { state in
                if state.window.apply(chunk: chunk, event: event, now: now) { Self.deliver(event, to: &state, last: false) }
                if chunk.isFinal, let held = state.heldResults[chunk.jobID], held.streamID == chunk.streamID {
                    Self.deliverResult(held.event, to: &state, now: now)
                }
            }
        case topics.results:
            let result = JobResult.decode(message.value)
            guard let jobID = result?.jobID ?? message.keyString else { return }
            let event = HubEvent(jobID: jobID, kind: .result(result, json: message.value),
                                 frame: SSEFrame.event(id: HubEvent.resultID, name: "result", data: message.value), timestampMs: message.timestampMs)
            // The worker produces a result only after its stream's final event is acknowledged, but
            // the two topics can be read out of that order (one fetch returns both, results first).
            // So a result naming a stream whose end or abort has not arrived waits for it, at most
            // `resultHold` (a gateway that started following after that event never sees it).
            let held: HeldResult? = state.withLock { state in
                if let streamID = result?.streamID, state.window[jobID]?.endedStreamID != streamID {
                    let held = HeldResult(event: event, streamID: streamID, token: state.nextHoldToken)
                    state.nextHoldToken += 1
                    state.heldResults[jobID] = held
                    return held
                }
                Self.deliverResult(event, to: &state, now: now)
                return nil
            }
            if let held {
                let hold = resultHold
                Task { [weak self] in
                    try? await Task.sleep(for: hold)
                    self?.releaseIfStillHeld(held)
                }
            }
        case topics.jobs:
            guard let jobID = message.keyString, !jobID.isEmpty else { return }
            noteQueued(jobID, prompt: Self.promptPreview(message.value), now: now)
        case topics.control:
            guard let control = ControlMessage.decode(message.value) else { return }
            let event = Self.statusEvent(control.jobID, kind: .cancelRequested, name: "cancel", status: "cancel_requested")
            state.withLock { state in
                state.window.noteCancel(control.jobID, now: now)
                for client in state.everyJob.values { client.push(event) }
            }
        default:
            return
        }
    }

    /// Stores a job's result and ends its clients' streams with it; a result held for the job
    /// before (an earlier copy) is dropped.
    private static func deliverResult(_ event: HubEvent, to state: inout State, now: Int64) {
        state.heldResults[event.jobID] = nil
        state.window.apply(result: event, now: now)
        deliver(event, to: &state, last: true)
    }

    /// Delivers a held result whose hold is over, unless it was delivered (or replaced) meanwhile.
    private func releaseIfStillHeld(_ held: HeldResult) {
        let now = clock()
        state.withLock { state in
            guard state.heldResults[held.event.jobID]?.token == held.token else { return }
            Self.deliverResult(held.event, to: &state, now: now)
        }
    }

    /// Records a job this gateway is about to enqueue. Returns false when the id is already in the
    /// window (a repeated submission, not to be enqueued again).
    public func claim(_ jobID: String, prompt: String? = nil) -> Bool {
        noteQueued(jobID, prompt: prompt.map { String($0.prefix(Self.promptPreviewLength)) }, now: clock())
    }

    @discardableResult
    private func noteQueued(_ jobID: String, prompt: String?, now: Int64) -> Bool {
        let event = Self.statusEvent(jobID, kind: .queued, name: "queued", status: "queued", prompt: prompt)
        return state.withLock { state in
            let isNew = state.window.noteQueued(jobID, prompt: prompt, now: now)
            // The job message of a job this gateway claimed only adds its prompt.
            guard isNew else { return false }
            for client in state.everyJob.values { client.push(event) }
            return true
        }
    }

    /// How much of a job's last user message the window keeps, for the page.
    static let promptPreviewLength = 300

    /// The last user message of a job payload (or its `prompt`), cut to `promptPreviewLength`.
    static func promptPreview(_ bytes: [UInt8]) -> String? {
        guard bytes.count <= 1 << 20, case .object(let job)? = try? JSONParser.parse(bytes) else { return nil }
        if case .string(let prompt)? = job["prompt"] { return String(prompt.prefix(promptPreviewLength)) }
        guard case .array(let messages)? = job["messages"] else { return nil }
        for case .object(let message) in messages.reversed() where message["role"] == .string("user") {
            if case .string(let content)? = message["content"] { return String(content.prefix(promptPreviewLength)) }
        }
        return nil
    }

    /// Forgets a claim whose job could not be enqueued, so it can be submitted again.
    public func release(_ jobID: String) {
        _ = state.withLock { $0.window.forget(jobID) }
    }

    private static func statusEvent(_ jobID: String, kind: HubEvent.Kind, name: String, status: String, prompt: String? = nil) -> HubEvent {
        var writer = JSONWriter(capacity: 64 + jobID.utf8.count + (prompt?.utf8.count ?? 0))
        writer.beginObject()
        writer.string("job_id", jobID)
        writer.string("status", status)
        if let prompt { writer.string("prompt", prompt) }
        writer.endObject()
        return HubEvent(jobID: jobID, kind: kind, frame: SSEFrame.event(id: nil, name: name, data: writer.bytes))
    }

    private static func deliver(_ event: HubEvent, to state: inout State, last: Bool) {
        if let clients = state.byJob[event.jobID] {
            for (key, client) in clients where !client.push(event, last: last) || last {
                state.byJob[event.jobID]?[key] = nil
            }
            if state.byJob[event.jobID]?.isEmpty == true { state.byJob[event.jobID] = nil }
        }
        for (key, client) in state.everyJob where !client.push(event) {
            state.everyJob[key] = nil
        }
    }

    // MARK: - Clients

    /// Registers a client of one job's events; its backlog (from `resume`) is queued first. When
    /// the job already has a result, the stream holds the backlog and ends after it.
    func follow(job jobID: String, resume: ResumePoint?) throws(Refused) -> ClientStream {
        let client = ClientStream(jobID: jobID, limit: clientBufferBytes)
        try state.withLock { (state) throws(Refused) in
            guard state.clients < maxClients else { throw Refused(maxClients: maxClients) }
            state.clients += 1
            let backlog = state.window.backlog(for: jobID, resume: resume)
            for (index, event) in backlog.enumerated() {
                let isResult = if case .result = event.kind { true } else { false }
                client.push(event, counted: false, last: isResult && index == backlog.count - 1)
            }
            if state.window[jobID]?.result == nil {
                state.byJob[jobID, default: [:]][ObjectIdentifier(client)] = client
            }
        }
        return client
    }

    /// Registers a client of every job's events from now on.
    func followAll() throws(Refused) -> ClientStream {
        let client = ClientStream(jobID: nil, limit: clientBufferBytes)
        try state.withLock { (state) throws(Refused) in
            guard state.clients < maxClients else { throw Refused(maxClients: maxClients) }
            state.clients += 1
            state.everyJob[ObjectIdentifier(client)] = client
        }
        return client
    }

    /// Counts a client that waits without an event stream (a non-streamed completion).
    func admit() throws(Refused) {
        try state.withLock { (state) throws(Refused) in
            guard state.clients < maxClients else { throw Refused(maxClients: maxClients) }
            state.clients += 1
        }
    }

    /// Ends a client's registration (its response is over).
    func leave(_ client: ClientStream?) {
        client?.disconnect()
        state.withLock { state in
            state.clients -= 1
            guard let client else { return }
            let key = ObjectIdentifier(client)
            if let jobID = client.jobID {
                state.byJob[jobID]?[key] = nil
                if state.byJob[jobID]?.isEmpty == true { state.byJob[jobID] = nil }
            } else {
                state.everyJob[key] = nil
            }
        }
    }

    /// Sends an SSE comment to every open stream.
    public func heartbeat() {
        state.withLock { state in
            for clients in state.byJob.values {
                for client in clients.values {
                    client.push(HubEvent(jobID: client.jobID ?? "", kind: .heartbeat, frame: HubEvent.heartbeatFrame), counted: false)
                }
            }
            for client in state.everyJob.values {
                client.push(HubEvent(jobID: "", kind: .heartbeat, frame: HubEvent.heartbeatFrame), counted: false)
            }
        }
    }

    /// Ends every open stream (shutdown).
    public func disconnectAll() {
        state.withLock { state in
            for clients in state.byJob.values { clients.values.forEach { $0.disconnect() } }
            state.everyJob.values.forEach { $0.disconnect() }
        }
    }

    // MARK: - Queries

    /// About how much memory the window's events take.
    public var windowBytes: Int { state.withLock { $0.window.bytes } }

    /// Clients registered now.
    public var clientCount: Int { state.withLock { $0.clients } }

    /// What the window knows of a job.
    func record(_ jobID: String) -> JobWindow.Record? { state.withLock { $0.window[jobID] } }

    /// The most recent jobs, newest first.
    func recent(_ count: Int) -> [JobWindow.Record] { state.withLock { $0.window.recent(count) } }
}
