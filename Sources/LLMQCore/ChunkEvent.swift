import Foundation

/// One event of one provider stream, published to the chunks topic keyed by job id.
///
/// Every provider call is a stream with its own `streamID`; `seq` starts at 0 with `start` and has no gaps;
/// a stream ends with `end` or `abort`.
public struct ChunkEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case start
        case delta(String)
        case end(finishReason: String?)
        case abort(reason: String, retrying: Bool)
    }

    public var jobID: String
    public var streamID: String
    public var attempt: Int
    public var seq: Int
    public var kind: Kind

    public init(jobID: String, streamID: String, attempt: Int, seq: Int, kind: Kind) {
        self.jobID = jobID
        self.streamID = streamID
        self.attempt = attempt
        self.seq = seq
        self.kind = kind
    }

    /// `end` or `abort`: the stream's last event.
    public var isFinal: Bool {
        switch kind {
        case .end, .abort: true
        case .start, .delta: false
        }
    }

    public var typeName: String {
        switch kind {
        case .start: "start"
        case .delta: "delta"
        case .end: "end"
        case .abort: "abort"
        }
    }

    /// The JSON value, written by hand (hot path).
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 96 + jobID.utf8.count + streamID.utf8.count)
        writer.beginObject()
        writer.string("job_id", jobID)
        writer.string("stream_id", streamID)
        writer.int("attempt", attempt)
        writer.int("seq", seq)
        switch kind {
        case .start:
            writer.string("type", "start")
        case .delta(let text):
            writer.string("type", "delta")
            writer.string("delta", text)
        case .end(let finishReason):
            writer.string("type", "end")
            if let finishReason { writer.string("finish_reason", finishReason) }
            // The stream's event count, this one included: a consumer that saw fewer has a gap.
            writer.int("events", seq + 1)
        case .abort(let reason, let retrying):
            writer.string("type", "abort")
            writer.string("reason", reason)
            writer.bool("retrying", retrying)
        }
        writer.endObject()
        return writer.bytes
    }

    /// Decodes a chunk event; `nil` for anything that is not one.
    public static func decode(_ bytes: [UInt8]) -> ChunkEvent? {
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(bytes)) else { return nil }
        let kind: Kind
        switch wire.type {
        case "start": kind = .start
        case "delta": kind = .delta(wire.delta ?? "")
        case "end": kind = .end(finishReason: wire.finish_reason)
        case "abort": kind = .abort(reason: wire.reason ?? "", retrying: wire.retrying ?? false)
        default: return nil
        }
        return ChunkEvent(jobID: wire.job_id, streamID: wire.stream_id, attempt: wire.attempt, seq: wire.seq, kind: kind)
    }

    private struct Wire: Decodable {
        var job_id: String
        var stream_id: String
        var attempt: Int
        var seq: Int
        var type: String
        var delta: String?
        var finish_reason: String?
        var reason: String?
        var retrying: Bool?
    }
}
