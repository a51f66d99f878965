import DequeModule
import NIOCore
import Synchronization

/// The events waiting to be written to one streaming client, bounded in bytes: a client that falls
/// further behind than `limit` is dropped (its pending events are released at once and it gets a
/// final `slow_client` error event), so a slow reader never grows the gateway's memory.
///
/// The hub pushes (from the Kafka poll thread); the client's response task takes batches.
final class ClientStream: Sendable {
    enum Next {
        case events([HubEvent])
        /// The stream is over; write `final` (if any) and end the response.
        case end(final: ByteBuffer?)
    }

    private enum Closing {
        /// The job's result was delivered: end once the pending events are written.
        case afterPending
        case dropped
        case disconnected
    }

    private struct State {
        var pending: Deque<HubEvent> = []
        var pendingBytes = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closing: Closing?
    }

    /// The job followed, or nil for every job (`/v1/events`).
    let jobID: String?
    let limit: Int
    private let state = Mutex(State())

    init(jobID: String?, limit: Int) {
        self.jobID = jobID
        self.limit = limit
    }

    /// Queues an event. `counted: false` for events that are shared and already held elsewhere (a
    /// late joiner's backlog, heartbeats). Returns false when the client is (now) dropped or gone.
    @discardableResult
    func push(_ event: HubEvent, counted: Bool = true, last: Bool = false) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard state.closing == nil else { return (false, nil) }
            let size = counted ? event.frame.readableBytes : 0
            if state.pendingBytes + size > limit {
                state.pending.removeAll()
                state.pendingBytes = 0
                state.closing = .dropped
            } else {
                state.pending.append(event)
                state.pendingBytes += size
                if last { state.closing = .afterPending }
            }
            defer { state.waiter = nil }
            return (state.closing != .dropped, state.waiter)
        }
        waiter?.resume()
        return accepted
    }

    /// The client went away (or the server stops): the response task ends without writing more.
    func disconnect() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.closing != .dropped { state.closing = .disconnected }
            state.pending.removeAll()
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    var isOpen: Bool { state.withLock { $0.closing == nil } }

    /// The next batch of events, waiting for one; `.end` once the stream is over.
    func next() async -> Next {
        while true {
            let taken: Next? = state.withLock { state in
                if !state.pending.isEmpty {
                    let events = Array(state.pending)
                    state.pending.removeAll(keepingCapacity: true)
                    state.pendingBytes = 0
                    return .events(events)
                }
                switch state.closing {
                case .afterPending?, .disconnected?: return .end(final: nil)
                case .dropped?: return .end(final: Self.slowClientFrame(limit))
                case nil: return nil
                }
            }
            if let taken { return taken }
            if Task.isCancelled { return .end(final: nil) }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if !state.pending.isEmpty || state.closing != nil { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                self.disconnect()
            }
        }
    }

    static func slowClientFrame(_ limit: Int) -> ByteBuffer {
        SSEFrame.event(name: "error", text: #"{"error":{"code":"slow_client","message":"the client read too slowly: more than \#(limit) bytes of events were waiting (gateway.client_buffer_bytes); reconnect with Last-Event-ID to resume"}}"#)
    }
}
