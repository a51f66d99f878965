/// One dispatched server-sent event, as the WHATWG EventSource algorithm defines it.
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` field, or nil when the event had none (EventSource then calls it "message").
    public var event: String?
    /// The `data:` lines joined with "\n" (no trailing newline).
    public var data: String
    /// The last event id seen on the stream so far (it persists across events, as in EventSource).
    public var id: String?
    /// The last valid `retry:` value seen, in milliseconds.
    public var retry: Int?

    public init(event: String? = nil, data: String, id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }
}
