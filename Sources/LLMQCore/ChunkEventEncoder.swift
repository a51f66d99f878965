/// Writes the chunk events of one stream from pre-encoded constant parts.
///
/// Hot path: every streamed piece becomes one chunk event. `ChunkEvent.encoded()` writes every key
/// and the job and stream ids again for each event; this encoder writes
/// `{"job_id":…,"stream_id":…,"attempt":N,"seq":` once per stream and then only the sequence
/// number and the text. The bytes are the same as `ChunkEvent.encoded()` (tests compare them).
public struct ChunkEventEncoder: Sendable {
    public let jobID: String
    public let streamID: String
    public let attempt: Int
    /// `{"job_id":"…","stream_id":"…","attempt":N,"seq":`
    private let prefix: [UInt8]

    public init(jobID: String, streamID: String, attempt: Int) {
        self.jobID = jobID
        self.streamID = streamID
        self.attempt = attempt
        var writer = JSONWriter(capacity: 64 + jobID.utf8.count + streamID.utf8.count)
        writer.beginObject()
        writer.string("job_id", jobID)
        writer.string("stream_id", streamID)
        writer.int("attempt", attempt)
        var bytes = writer.bytes
        bytes.append(contentsOf: #","seq":"#.utf8)
        self.prefix = bytes
    }

    private static let deltaType: [UInt8] = Array(#","type":"delta","delta":""#.utf8)

    /// The `delta` event with number `seq`: the same bytes as `ChunkEvent(…, kind: .delta(text)).encoded()`.
    public func delta(seq: Int, text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { self.delta(seq: seq, utf8: UnsafeRawBufferPointer($0)) }
    }

    /// The `delta` event for text given as UTF-8 bytes (valid UTF-8: the caller decoded it from JSON).
    public func delta(seq: Int, utf8 text: UnsafeRawBufferPointer) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.prefix.count + 20 + Self.deltaType.count + text.count + text.count / 8 + 2)
        bytes.append(contentsOf: self.prefix)
        Self.appendDecimal(seq, to: &bytes)
        bytes.append(contentsOf: Self.deltaType)
        JSONWriter.appendEscaped(text, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// Any event of the stream; the delta fast path for deltas, `ChunkEvent.encoded()` for the rest (once per stream).
    public func encode(seq: Int, kind: ChunkEvent.Kind) -> [UInt8] {
        if case .delta(let text) = kind { return self.delta(seq: seq, text: text) }
        return ChunkEvent(jobID: self.jobID, streamID: self.streamID, attempt: self.attempt, seq: seq, kind: kind).encoded()
    }

    static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value < 0 {
            bytes.append(contentsOf: String(value).utf8)
            return
        }
        if value < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[19 - count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
                count += 1
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(20 - count)...]))
        }
    }
}
