#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Hand-built wire bytes. The benchmark pushes thousands of events per second through the mock,
/// so events are written straight into one `ByteBuffer` each, without a JSON encoder.
enum MockWire {
    /// Appends `text` as the inside of a JSON string literal.
    static func writeEscaped(_ text: String, into buffer: inout ByteBuffer) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0x09: buffer.writeStaticString("\\t")
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            default: buffer.writeInteger(byte)
            }
        }
    }

    /// `"text"` as a JSON string.
    static func quoted(_ text: String) -> String {
        var buffer = ByteBuffer()
        buffer.writeStaticString("\"")
        Self.writeEscaped(text, into: &buffer)
        buffer.writeStaticString("\"")
        return String(buffer: buffer)
    }

    /// Unix wall-clock time in microseconds (not Foundation's Date: this runs per delta).
    static func wallClockMicros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    static func usageJSON(prompt: Int, completion: Int) -> String {
        "{\"prompt_tokens\":\(prompt),\"completion_tokens\":\(completion),\"total_tokens\":\(prompt + completion)}"
    }
}
