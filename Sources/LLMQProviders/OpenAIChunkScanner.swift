/// The fast path for the usual OpenAI stream chunk: reads `model`, `choices[0].delta.content`,
/// `choices[0].finish_reason` and the token counts of `usage` straight from the event's UTF-8 bytes.
///
/// Why: decoding every chunk with Foundation's JSONDecoder was 31 % of the worker's CPU in the
/// drain benchmark (BENCHMARKS.md). This scanner is a strict JSON reader for that one shape; it
/// returns nil for anything else (a non-null `error`, `message` instead of `delta`, a token count
/// that is not an integer, invalid JSON, deep nesting), and the caller then decodes with
/// JSONDecoder as before, so behaviour is unchanged. (`usage` is read since issue 11: the one
/// chunk per call that carries it went to JSONDecoder and cost 2 % of the worker's CPU.)
struct OpenAIChunkScanner {
    struct Fields: Equatable {
        var model: String?
        var content: String?
        var finishReason: String?
        var usage: WireUsage?
    }

    static func scan(_ data: String) -> Fields? {
        var data = data
        return data.withUTF8 { bytes in
            var scanner = OpenAIChunkScanner(bytes: bytes)
            return scanner.document()
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func document() -> Fields? {
        var fields = Fields()
        let complete = object { key, scanner in
            if Self.is(key, "model") { return scanner.optionalString(into: &fields.model) }
            if Self.is(key, "choices") { return scanner.choices(into: &fields) }
            if Self.is(key, "usage") { return scanner.usage(into: &fields.usage) }
            // Errors are rare: leave them to the full decoder.
            if Self.is(key, "error") || Self.is(key, "message") { return scanner.null() }
            return scanner.skipValue(depth: 0)
        }
        skipWhitespace()
        return complete && index == bytes.count ? fields : nil
    }

    private mutating func choices(into fields: inout Fields) -> Bool {
        if peek == UInt8(ascii: "n") { return null() }
        guard consume(UInt8(ascii: "[")) else { return false }
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return true }
        var first = true
        while true {
            if first {
                let ok = object { key, scanner in
                    if Self.is(key, "delta") {
                        if scanner.peek == UInt8(ascii: "n") { return scanner.null() }
                        return scanner.object { key, scanner in
                            Self.is(key, "content") ? scanner.optionalString(into: &fields.content) : scanner.skipValue(depth: 2)
                        }
                    }
                    if Self.is(key, "finish_reason") { return scanner.optionalString(into: &fields.finishReason) }
                    if Self.is(key, "message") { return scanner.null() }
                    return scanner.skipValue(depth: 1)
                }
                guard ok else { return false }
                first = false
            } else if !skipValue(depth: 1) {
                return false
            }
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return true }
            guard consume(UInt8(ascii: ",")) else { return false }
        }
    }

    /// `usage`: null, or an object whose token counts are integers (other members are skipped).
    private mutating func usage(into target: inout WireUsage?) -> Bool {
        if peek == UInt8(ascii: "n") { target = nil; return null() }
        var usage = WireUsage()
        let ok = object { key, scanner in
            if Self.is(key, "prompt_tokens") { return scanner.optionalInteger(into: &usage.prompt_tokens) }
            if Self.is(key, "completion_tokens") { return scanner.optionalInteger(into: &usage.completion_tokens) }
            if Self.is(key, "total_tokens") { return scanner.optionalInteger(into: &usage.total_tokens) }
            return scanner.skipValue(depth: 1)
        }
        guard ok else { return false }
        target = usage
        return true
    }

    /// An integer (at most 18 digits, no fraction or exponent) or null; anything else ends the fast path.
    private mutating func optionalInteger(into target: inout Int?) -> Bool {
        if peek == UInt8(ascii: "n") { target = nil; return null() }
        let negative = consume(UInt8(ascii: "-"))
        var value = 0
        var digits = 0
        while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            // JSON forbids leading zeros ("01"); the full decoder decides what to do with them.
            if digits == 1, value == 0 { return false }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            index += 1
            if digits > 18 { return false }
        }
        guard digits > 0 else { return false }
        if let byte = peek, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return false }
        target = negative ? -value : value
        return true
    }

    /// Reads an object, calling `member` for each key (its raw bytes) with the scanner positioned
    /// at its value. Keys are compared as bytes, never made into `String`s (hot path); a key with
    /// an escape ends the fast path (the full decoder reads it as it always did).
    private mutating func object(_ member: (UnsafeBufferPointer<UInt8>, inout OpenAIChunkScanner) -> Bool) -> Bool {
        skipWhitespace()
        guard consume(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return true }
        while true {
            skipWhitespace()
            guard let key = rawString(escapedKeyFails: true) else { return false }
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { return false }
            skipWhitespace()
            guard member(key, &self) else { return false }
            skipWhitespace()
            if consume(UInt8(ascii: "}")) { return true }
            guard consume(UInt8(ascii: ",")) else { return false }
        }
    }

    private mutating func optionalString(into target: inout String?) -> Bool {
        if peek == UInt8(ascii: "n") { target = nil; return null() }
        guard let value = string() else { return false }
        target = value
        return true
    }

    private mutating func null() -> Bool { literal("null") }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    static func `is`(_ key: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard key.count == word.utf8CodeUnitCount else { return false }
        for offset in 0..<key.count where key[offset] != word.utf8Start[offset] { return false }
        return true
    }

    /// A JSON string's raw bytes between the quotes, validated (escapes included) but not made
    /// into a `String`. With `escapedKeyFails`, a string with an escape is nil.
    private mutating func rawString(escapedKeyFails: Bool) -> UnsafeBufferPointer<UInt8>? {
        guard let (raw, escaped) = scanString() else { return nil }
        if escaped {
            guard !escapedKeyFails, Self.unescape(raw) != nil else { return nil }
        }
        return raw
    }

    /// A JSON string; unescaped when it has escapes. Nil on anything invalid.
    private mutating func string() -> String? {
        guard let (raw, escaped) = scanString() else { return nil }
        return escaped ? Self.unescape(raw) : String(decoding: raw, as: UTF8.self)
    }

    /// Moves past a JSON string: its bytes between the quotes, and whether they hold an escape.
    /// Nil (at no particular index) when it is not a string or not closed, or holds a control byte.
    private mutating func scanString() -> (raw: UnsafeBufferPointer<UInt8>, escaped: Bool)? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var escaped = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return (raw, escaped)
            }
            if byte < 0x20 { return nil }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 1
            }
            index += 1
        }
        return nil
    }

    private static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= raw.count else { return nil }
            var value: UInt32 = 0
            for b in raw[at..<at + 4] {
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\") else { out.append(byte); i += 1; continue }
            guard i + 1 < raw.count else { return nil }
            switch raw[i + 1] {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(i + 2) else { return nil }
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard i + 8 <= raw.count, raw[i + 2] == UInt8(ascii: "\\"), raw[i + 3] == UInt8(ascii: "u"),
                          let low = hex4(i + 4), (0xDC00...0xDFFF).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    return nil
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: String(Character(unicode)).utf8)
            default:
                return nil
            }
            i += 2
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Skips any JSON value; nil-safe on invalid input. Deeply nested values go to the full decoder.
    private mutating func skipValue(depth: Int) -> Bool {
        guard depth < 32 else { return false }
        skipWhitespace()
        guard let byte = peek else { return false }
        switch byte {
        case UInt8(ascii: "\""): return rawString(escapedKeyFails: false) != nil
        case UInt8(ascii: "{"): return object { _, scanner in scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return true }
            while true {
                guard skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: "]")) { return true }
                guard consume(UInt8(ascii: ",")) else { return false }
            }
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            while let b = peek, b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
                || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) {
                index += 1
            }
            return index > start
        default:
            return false
        }
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { index += 1 }
    }
}
