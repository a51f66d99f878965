import LLMQCore
import NIOCore

/// One thing that happened to a job, as the gateway fans it out: decoded once, with its SSE frame
/// encoded once and shared by every client that receives it.
public struct HubEvent: Sendable {
    public enum Kind: Sendable {
        /// A chunk event; its SSE name is `reset` for `start`, else the chunk's type.
        case chunk(ChunkEvent)
        /// The job's result as published (`json`), decoded (nil when it could not be).
        case result(JobResult?, json: [UInt8])
        /// The job was seen on the jobs topic.
        case queued
        /// A cancel request for the job was seen on the control topic.
        case cancelRequested
        /// An SSE comment that keeps idle connections open.
        case heartbeat
    }

    public var jobID: String
    public var kind: Kind
    /// The SSE bytes (`id:`, `event:`, `data:` lines and the blank line).
    public var frame: ByteBuffer
    /// The Kafka timestamp of the message it came from (ms since the epoch).
    public var timestampMs: Int64?

    public init(jobID: String, kind: Kind, frame: ByteBuffer, timestampMs: Int64? = nil) {
        self.jobID = jobID
        self.kind = kind
        self.frame = frame
        self.timestampMs = timestampMs
    }

    /// The SSE `id:` of a chunk event: `<stream_id>:<seq>`, the same on every gateway replica, so
    /// a client can resume on any of them.
    public static func eventID(streamID: String, seq: Int) -> String { "\(streamID):\(seq)" }

    /// The SSE `id:` of the result event.
    public static let resultID = "result"

    /// The SSE event name of a chunk event.
    public static func eventName(_ event: ChunkEvent) -> String {
        if case .start = event.kind { return "reset" }
        return event.typeName
    }

    static let heartbeatFrame = ByteBuffer(string: ": ping\n\n")
}

/// Where a client left a job's event stream, from its `Last-Event-ID`.
public enum ResumePoint: Sendable, Hashable {
    case chunk(streamID: String, seq: Int)
    case result

    public init?(lastEventID: String?) {
        guard let lastEventID, !lastEventID.isEmpty else { return nil }
        if lastEventID == HubEvent.resultID { self = .result; return }
        guard let colon = lastEventID.lastIndex(of: ":"), let seq = Int(lastEventID[lastEventID.index(after: colon)...]) else { return nil }
        self = .chunk(streamID: String(lastEventID[..<colon]), seq: seq)
    }
}
