/// A minimal JSON writer into a byte array.
///
/// Chunk events are the hot path (one per streamed piece): writing them by hand avoids
/// JSONEncoder's per-call allocations and Foundation bridging.
public struct JSONWriter {
    public private(set) var bytes: [UInt8]
    private var needsComma = false

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() { separator(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray(_ key: StaticString) { self.key(key); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    public mutating func key(_ key: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ key: StaticString, _ value: String) { self.key(key); string(value) }
    public mutating func int(_ key: StaticString, _ value: some BinaryInteger) { self.key(key); raw(String(value)) }
    public mutating func bool(_ key: StaticString, _ value: Bool) { self.key(key); raw(value ? "true" : "false") }
    /// A finite number, in Swift's shortest form that reads back the same (`0.7`, `1.0`, `1e-05`).
    public mutating func double(_ key: StaticString, _ value: Double) {
        precondition(value.isFinite, "JSON has no infinities or NaN")
        self.key(key)
        raw(value.description)
    }
    public mutating func null() { raw("null") }
    /// The value, or `null` when absent.
    public mutating func optionalString(_ key: StaticString, _ value: String?) {
        if let value { string(key, value) } else { self.key(key); null() }
    }
    /// The value, or `null` when absent.
    public mutating func optionalInt(_ key: StaticString, _ value: (some BinaryInteger)?) {
        if let value { int(key, value) } else { self.key(key); null() }
    }

    public mutating func string(_ value: String) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { Self.appendEscaped(UnsafeRawBufferPointer($0), to: &bytes) }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Appends UTF-8 text as the inside of a JSON string (without the quotes).
    public static func appendEscaped(_ utf8: UnsafeRawBufferPointer, to bytes: inout [UInt8]) {
        var start = 0
        for i in 0..<utf8.count {
            let byte = utf8[i]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[start..<i]))
            switch byte {
            case UInt8(ascii: "\""): bytes.append(0x5C); bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(0x5C); bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(0x5C); bytes.append(UInt8(ascii: "f"))
            default:
                let hex: StaticString = "0123456789abcdef"
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30,
                                          hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 0xF)]])
            }
            start = i + 1
        }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[start...]))
    }

    /// An object written by `members`, or `null` when `value` is absent.
    public mutating func optionalObject<Value>(_ key: StaticString, _ value: Value?, _ members: (inout JSONWriter, Value) -> Void) {
        self.key(key)
        guard let value else { return null() }
        beginObject()
        members(&self, value)
        endObject()
    }

    /// Appends already-encoded JSON as a value.
    public mutating func rawJSON(_ json: String) { raw(json) }

    /// Appends already-encoded JSON bytes as a value.
    public mutating func rawJSON(_ json: some Sequence<UInt8>) {
        separator()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    private mutating func raw(_ text: String) {
        separator()
        bytes.append(contentsOf: text.utf8)
        needsComma = true
    }

    private mutating func separator() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}
