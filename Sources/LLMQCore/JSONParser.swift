/// A strict RFC 8259 parser from UTF-8 bytes to `JSONValue`: how job payloads are read.
///
/// Why not `JSONDecoder` (issue 11): decoding `JSONValue` through `Codable` tries each case in
/// turn, so every string, array and object value throws and discards one to four `DecodingError`s
/// before it matches; a profile of the drain had 3 % of the worker's CPU there, most of the job
/// task's own work. This reads the bytes once, without `Data` or errors on the way.
///
/// What it accepts is RFC 8259, nothing more: no trailing commas (Foundation's decoder accepts
/// them), no byte-order mark, no `NaN`. A string must be valid UTF-8 and may not hold a lone
/// surrogate escape (it could not be written back as UTF-8). A number is read as a `Double`: one
/// that overflows, or a non-zero literal that would round to 0, is refused (digits beyond a
/// `Double`'s precision are rounded, as with Foundation).
/// Nesting deeper than `maxDepth` is refused (no recursion without bound). Of repeated object
/// keys the last one counts, as with Foundation's decoder. Errors name the byte offset and at
/// most one byte of the input, never more of it.
public enum JSONParser {
    /// Arrays and objects nested deeper than this are refused (Foundation's decoder: 512 as well).
    public static let maxDepth = 512

    /// Why the bytes are not JSON.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        /// Where, in bytes from the start.
        public var offset: Int
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// The one JSON value `bytes` hold (any value, also a scalar), with nothing but whitespace around it.
    public static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        let result: Result<JSONValue, Failure> = bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(buffer)
            return Result { () throws(Failure) in try reader.document() }
        }
        return try result.get()
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0
        /// Unescaped bytes of the string being read, reused from string to string.
        var scratch: [UInt8] = []

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func document() throws(Failure) -> JSONValue {
            skipWhitespace()
            let value = try value(depth: 0)
            skipWhitespace()
            guard position == bytes.count else { throw failure("unexpected \(describe(bytes[position])) after the value") }
            return value
        }

        private mutating func value(depth: Int) throws(Failure) -> JSONValue {
            guard position < bytes.count else { throw failure("unexpected end of input") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "["), depth == JSONParser.maxDepth {
                throw failure("nested deeper than \(JSONParser.maxDepth) levels")
            }
            switch byte {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw failure("unexpected \(describe(byte))")
            }
        }

        /// An object from its `{`, itself at nesting `depth`.
        private mutating func object(depth: Int) throws(Failure) -> JSONValue {
            position += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if take(UInt8(ascii: "}")) { return .object(members) }
            while true {
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw expected("a member name") }
                let key = try string()
                skipWhitespace()
                guard take(UInt8(ascii: ":")) else { throw expected("':'") }
                skipWhitespace()
                members[key] = try value(depth: depth)
                skipWhitespace()
                if take(UInt8(ascii: "}")) { return .object(members) }
                guard take(UInt8(ascii: ",")) else { throw expected("',' or '}'") }
                skipWhitespace()
            }
        }

        /// An array from its `[`, itself at nesting `depth`.
        private mutating func array(depth: Int) throws(Failure) -> JSONValue {
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if take(UInt8(ascii: "]")) { return .array(elements) }
            while true {
                elements.append(try value(depth: depth))
                skipWhitespace()
                if take(UInt8(ascii: "]")) { return .array(elements) }
                guard take(UInt8(ascii: ",")) else { throw expected("',' or ']'") }
                skipWhitespace()
            }
        }

        /// A string from its opening quote; its bytes must be UTF-8 once unescaped.
        private mutating func string() throws(Failure) -> String {
            position += 1
            let start = position
            // Fast path: no escape, so the bytes are the string.
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let text = try utf8(UnsafeBufferPointer(rebasing: bytes[start..<position]), quoteAt: start - 1)
                    position += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw failure("control character \(describe(byte)) in a string") }
                position += 1
            }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: bytes[start..<position])
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    let text = try utf8(scratch, quoteAt: start - 1)
                    position += 1
                    return text
                case UInt8(ascii: "\\"):
                    try escape()
                case ..<0x20:
                    throw failure("control character \(describe(byte)) in a string")
                default:
                    scratch.append(byte)
                    position += 1
                }
            }
            throw failure("unterminated string")
        }

        /// The string of a JSON string's bytes (without quotes), which must be UTF-8.
        private func utf8(_ bytes: some Collection<UInt8>, quoteAt offset: Int) throws(Failure) -> String {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw Failure(reason: "invalid UTF-8 in the string starting", offset: offset)
            }
            return text
        }

        /// One escape sequence, from its backslash, appended to `scratch` as UTF-8.
        private mutating func escape() throws(Failure) {
            let at = position
            guard position + 1 < bytes.count else { throw failure("unterminated string") }
            let letter = bytes[position + 1]
            position += 2
            let simple: UInt8? = switch letter {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): letter
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
            if let simple {
                scratch.append(simple)
                return
            }
            guard letter == UInt8(ascii: "u") else { throw Failure(reason: "invalid escape \\\(describe(letter))", offset: at) }
            let unit = try hex4()
            var scalarValue = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by a low one: together they are one scalar.
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw Failure(reason: "lone surrogate escape", offset: at)
                }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw Failure(reason: "lone surrogate escape", offset: at) }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw Failure(reason: "lone surrogate escape", offset: at)
            }
            // Every value left is a scalar: surrogates were handled above.
            scratch.append(contentsOf: Unicode.Scalar(scalarValue)!.utf8)
        }

        private mutating func hex4() throws(Failure) -> UInt16 {
            var value: UInt16 = 0
            for _ in 0..<4 {
                guard position < bytes.count else { throw failure("unterminated string") }
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("invalid \\u escape: \(describe(byte)) is not a hex digit")
                }
                value = value << 4 | UInt16(digit)
                position += 1
            }
            return value
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, as a `Double`.
        private mutating func number() throws(Failure) -> Double {
            let start = position
            var nonZeroDigit = false
            _ = take(UInt8(ascii: "-"))
            guard position < bytes.count, isDigit(bytes[position]) else { throw expected("a digit") }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
                if position < bytes.count, isDigit(bytes[position]) { throw failure("a number may not have a leading zero") }
            } else {
                nonZeroDigit = digits()
            }
            if take(UInt8(ascii: ".")) {
                guard position < bytes.count, isDigit(bytes[position]) else { throw expected("a digit after '.'") }
                nonZeroDigit = digits() || nonZeroDigit
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                guard position < bytes.count, isDigit(bytes[position]) else { throw expected("a digit in the exponent") }
                _ = digits()
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let value = Double(text), value.isFinite, value != 0 || !nonZeroDigit else {
                throw Failure(reason: "number out of range", offset: start)
            }
            return value
        }

        /// Skips digits; true when one of them is not 0.
        private mutating func digits() -> Bool {
            var nonZero = false
            while position < bytes.count, isDigit(bytes[position]) {
                if bytes[position] != UInt8(ascii: "0") { nonZero = true }
                position += 1
            }
            return nonZero
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        private mutating func literal(_ word: StaticString) throws(Failure) {
            let count = word.utf8CodeUnitCount
            let matches = position + count <= bytes.count
                && UnsafeBufferPointer(start: word.utf8Start, count: count).elementsEqual(bytes[position..<position + count])
            guard matches else { throw failure("expected \(word)") }
            position += count
        }

        /// Steps over `byte` when it is next.
        private mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        private mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        private func expected(_ what: String) -> Failure {
            guard position < bytes.count else { return failure("unexpected end of input, expected \(what)") }
            return failure("expected \(what), found \(describe(bytes[position]))")
        }

        private func failure(_ reason: String) -> Failure {
            Failure(reason: reason, offset: position)
        }

        /// One byte for an error message: printable ASCII as itself, anything else in hex.
        private func describe(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
        }
    }
}
