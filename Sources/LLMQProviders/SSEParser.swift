import NIOCore

/// A byte-level, incremental parser for `text/event-stream` bodies (WHATWG EventSource rules).
///
/// Why not mattt/EventSource or another package: we need to feed AsyncHTTPClient's body
/// `ByteBuffer`s straight in, without converting chunks to `Data`/`String` first, without an
/// `AsyncStream` per event, and with no per-byte work beyond a `firstIndex(of:)`-style scan.
/// Body chunks "have no semantic meaning", so everything (lines, CR/LF pairs, the BOM, UTF-8
/// sequences) may be split across reads; the parser only ever decodes complete lines, which makes
/// split UTF-8 a non-issue.
///
/// Usage: `append(_:)` each chunk, then call `next()` until it returns nil.
public struct SSEParser: Sendable {
    private static let lf: UInt8 = 0x0A
    private static let cr: UInt8 = 0x0D
    private static let colon: UInt8 = 0x3A
    private static let space: UInt8 = 0x20
    /// One shared empty buffer, so a drained parser holds no storage of its own.
    private static let noBytes = ByteBuffer()

    /// Unconsumed bytes. Usually a chunk is taken over as-is (no copy); bytes are only copied
    /// when a partial line is left over from the previous chunk.
    private var pending = ByteBuffer()
    /// The data buffer of the event being built, as bytes so one `String` is made per event.
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var lastEventID: String?
    private var retry: Int?
    /// The previous line ended in CR at the very end of a chunk: a LF starting the next one belongs to it.
    private var skipLeadingLF = false
    /// The byte-order mark may only appear at the very start of the stream.
    private var bomChecked = false

    public init() {
        self.data.reserveCapacity(256)
    }

    /// True when bytes of an incomplete event are buffered (at end of stream they are discarded, per the spec).
    public var hasPartialEvent: Bool {
        self.pending.readableBytes > 0 || self.hasData || self.eventType != nil
    }

    /// Adds a chunk of the stream.
    public mutating func append(_ buffer: ByteBuffer) {
        if self.pending.readableBytes == 0 {
            self.pending = buffer
        } else {
            var buffer = buffer
            self.pending.writeBuffer(&buffer)
        }
    }

    /// Adds a chunk of the stream given as raw bytes.
    public mutating func append<Bytes: Sequence>(contentsOf bytes: Bytes) where Bytes.Element == UInt8 {
        if self.pending.readableBytes == 0 {
            self.pending.clear()
        }
        self.pending.writeBytes(bytes)
    }

    /// Returns the next complete event, or nil when more input is needed.
    public mutating func next() -> SSEEvent? {
        if !self.bomChecked {
            guard self.consumeBOM() else { return nil }
        }
        while self.pending.readableBytes > 0 {
            // A local copy shares storage (no copy) and keeps the closure from overlapping `self`.
            let buffer = self.pending
            var consumed = 0
            var lineComplete = false
            var dispatched: SSEEvent?
            buffer.withUnsafeReadableBytes { raw in
                var start = 0
                if self.skipLeadingLF {
                    self.skipLeadingLF = false
                    if raw[0] == Self.lf { start = 1 }
                }
                guard let end = raw[start...].firstIndex(where: { $0 == Self.lf || $0 == Self.cr }) else {
                    consumed = start
                    return
                }
                lineComplete = true
                if raw[end] == Self.cr {
                    if end + 1 < raw.count {
                        consumed = raw[end + 1] == Self.lf ? end + 2 : end + 1
                    } else {
                        consumed = end + 1
                        self.skipLeadingLF = true
                    }
                } else {
                    consumed = end + 1
                }
                dispatched = self.processLine(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
            }
            self.pending.moveReaderIndex(forwardBy: consumed)
            if self.pending.readableBytes == 0 {
                // Let go of the chunk's storage: an open stream that waits for its next event
                // should not hold a read buffer (NIO's are 2 KiB and more; issue 11).
                self.pending = Self.noBytes
            }
            if let dispatched { return dispatched }
            if !lineComplete { return nil }
        }
        return nil
    }

    /// Drops a leading UTF-8 BOM. Returns false while too few bytes have arrived to decide.
    private mutating func consumeBOM() -> Bool {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let available = self.pending.readableBytesView
        let n = min(available.count, 3)
        if n == 0 { return false }
        if !available.prefix(n).elementsEqual(bom.prefix(n)) {
            self.bomChecked = true
            return true
        }
        if n < 3 { return false }
        self.pending.moveReaderIndex(forwardBy: 3)
        self.bomChecked = true
        return true
    }

    private mutating func processLine(_ line: UnsafeRawBufferPointer) -> SSEEvent? {
        if line.isEmpty {
            return self.dispatch()
        }
        if line[0] == Self.colon { return nil }  // comment
        let fieldEnd = line.firstIndex(of: Self.colon) ?? line.count
        var valueStart = Swift.min(fieldEnd + 1, line.count)
        if valueStart < line.count, line[valueStart] == Self.space { valueStart += 1 }
        let field = UnsafeRawBufferPointer(rebasing: line[0..<fieldEnd])
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart...])
        // Compare field names as bytes: no String is made for them.
        switch field.count {
        case 4 where field.elementsEqual("data".utf8):
            if self.hasData { self.data.append(Self.lf) }
            self.data.append(contentsOf: value)
            self.hasData = true
        case 5 where field.elementsEqual("event".utf8):
            self.eventType = String(decoding: value, as: UTF8.self)
        case 2 where field.elementsEqual("id".utf8):
            if !value.contains(0) { self.lastEventID = String(decoding: value, as: UTF8.self) }
        case 5 where field.elementsEqual("retry".utf8):
            if !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                self.retry = Int(String(decoding: value, as: UTF8.self))
            }
        default:
            break
        }
        return nil
    }

    private mutating func dispatch() -> SSEEvent? {
        defer {
            self.data.removeAll(keepingCapacity: true)
            self.hasData = false
            self.eventType = nil
        }
        guard self.hasData else { return nil }
        let event = (self.eventType?.isEmpty ?? true) ? nil : self.eventType
        return SSEEvent(
            event: event,
            data: String(decoding: self.data, as: UTF8.self),
            id: self.lastEventID,
            retry: self.retry
        )
    }
}
