import Foundation
import LLMQCore
import LLMQTesting
import Testing

/// `JSONParser` reads job payloads instead of `JSONDecoder`: on any document both accept it must
/// give the same value, and it must refuse what RFC 8259 refuses, also where Foundation is lenient.
@Suite("JSON parser")
struct JSONParserTests {
    static func viaFoundation(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    static let strings = ["", "a", "job-42", "quote \" and back\\slash", "line\nbreak\ttab", "日本語 🙂 naïve", "\u{0}\u{1f}\u{7f}",
                          "\u{2028}", "/"]
    static let numbers: [Double] = [0, -0.5, 1, 42, 0.7, 1e-25, 123456789012345678901234567890, -1.5e300, 0.1 + 0.2]

    static func randomValue(_ rng: inout SeededRandom, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth < 4 ? 7 : 4), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(numbers.randomElement(using: &rng)!)
        case 3: return .string(strings.randomElement(using: &rng)!)
        case 4, 5:
            return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                object[strings.randomElement(using: &rng)! + "\(Int.random(in: 0...9, using: &rng))"] = randomValue(&rng, depth: depth + 1)
            }
            return .object(object)
        }
    }

    /// JSON text of `value` with random whitespace and random (valid) escapes, so the parser's
    /// slow paths are taken as well as its fast ones.
    static func render(_ value: JSONValue, _ rng: inout SeededRandom) -> String {
        func space() -> String { ["", " ", "\n", "\t", " \r\n "].randomElement(using: &rng)! }
        func quoted(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += Bool.random(using: &rng) ? "\\n" : "\\u000a"
                case "\t": out += "\\t"
                case "/": out += Bool.random(using: &rng) ? "\\/" : "/"
                case _ where scalar.value < 0x20:
                    out += String(format: "\\u%04x", scalar.value)
                case _ where scalar.value > 0xFFFF && Bool.random(using: &rng):
                    let v = scalar.value - 0x10000
                    out += String(format: "\\u%04X\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                case _ where scalar.value > 0x7F && Bool.random(using: &rng) && scalar.value <= 0xFFFF:
                    out += String(format: "\\u%04x", scalar.value)
                default:
                    out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number):
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"
        case .string(let text): return quoted(text)
        case .array(let items):
            return "[" + space() + items.map { render($0, &rng) }.joined(separator: space() + "," + space()) + space() + "]"
        case .object(let members):
            let parts = members.map { quoted($0.key) + space() + ":" + space() + render($0.value, &rng) }
            return "{" + space() + parts.joined(separator: "," + space()) + space() + "}"
        }
    }

    @Test func randomDocumentsParseAsFoundationParsesThem() throws {
        var rng = SeededRandom(seed: 0x15_07)
        for _ in 0..<2_000 {
            let value = Self.randomValue(&rng)
            let bytes = Array(Self.render(value, &rng).utf8)
            let parsed = try JSONParser.parse(bytes)
            #expect(parsed == value, "\(String(decoding: bytes, as: UTF8.self))")
            #expect(parsed == Self.viaFoundation(bytes), "\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    /// Mutated documents: whatever Foundation refuses, the parser refuses too (except a zero with an
    /// exponent, valid JSON that Foundation refuses); whatever both accept, they read alike. (The
    /// parser may refuse more: trailing commas, a byte-order mark.)
    @Test func corruptedDocumentsAreRefusedAsFoundationRefusesThem() throws {
        var rng = SeededRandom(seed: 0xBAD_15)
        let alphabet = Array(#"{}[]":,\ 0123456789.eE-+truefalsnu"#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xED, 0xFF]
        var outcomes = (accepted: 0, refused: 0)
        for _ in 0..<4_000 {
            var bytes = Array(Self.render(Self.randomValue(&rng), &rng).utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let index = Int.random(in: 0...bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0 where index < bytes.count: bytes[index] = alphabet.randomElement(using: &rng)!
                case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: index)
                default: if index < bytes.count { bytes.remove(at: index) }
                }
            }
            let ours = try? JSONParser.parse(bytes)
            let theirs = Self.viaFoundation(bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            if theirs == nil, !Self.foundationRefusesValidJSON(text) { #expect(ours == nil, "accepted what Foundation refuses: \(text)") }
            if let ours, let theirs { #expect(ours == theirs, "\(text)") }
            if ours == nil { outcomes.refused += 1 } else { outcomes.accepted += 1 }
        }
        // The corpus exercises both sides.
        #expect(outcomes.accepted > 400 && outcomes.refused > 400, "\(outcomes)")
    }

    /// Foundation's decoder refuses a zero with an exponent (`0e7`), which RFC 8259 allows.
    static func foundationRefusesValidJSON(_ text: String) -> Bool {
        text.contains(try! Regex("(^|[^0-9.])-?0[eE]"))
    }

    /// Every refusal names its reason and where, in bytes; the first cases are the ones Foundation's
    /// decoder let through (trailing commas, a byte-order mark).
    @Test(arguments: [
        (#"[1,]"#, "unexpected ']' at byte 3"), (#"{"a": 1,}"#, "expected a member name, found '}' at byte 8"),
        ("\u{FEFF}{}", "unexpected byte 0xEF at byte 0"), ("NaN", "unexpected 'N' at byte 0"),
        ("01", "a number may not have a leading zero at byte 1"), ("-", "unexpected end of input, expected a digit at byte 1"),
        ("1.", "unexpected end of input, expected a digit after '.' at byte 2"), ("1e+", "unexpected end of input, expected a digit in the exponent at byte 3"),
        ("1e400", "number out of range at byte 0"), ("[-1e400]", "number out of range at byte 1"), ("1e-400", "number out of range at byte 0"),
        (#""\ud800""#, "lone surrogate escape at byte 1"), (#"["x\udc00"]"#, "lone surrogate escape at byte 3"),
        (#""\ud800\u0041""#, "lone surrogate escape at byte 1"), (#""a\qb""#, "invalid escape \\'q' at byte 2"),
        ("\"a\u{01}\"", "control character byte 0x1 in a string at byte 2"), (#"{"a" 1}"#, "expected ':', found '1' at byte 5"),
        ("[1 2]", "expected ',' or ']', found '2' at byte 3"), ("tru", "expected true at byte 0"), ("", "unexpected end of input at byte 0"),
        ("1 2", "unexpected '2' after the value at byte 2"), (#""\u12G4""#, "invalid \\u escape: 'G' is not a hex digit at byte 5"),
        (#""\u12"#, "unterminated string at byte 5"), (#""open"#, "unterminated string at byte 5"),
    ])
    func refusalsSayWhyAndWhere(text: String, description: String) throws {
        let error = try #require(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
        #expect(error.description == description, "\(text)")
    }

    /// Invalid UTF-8 is found with and without an escape in the string (two code paths).
    @Test func invalidUTF8InAStringIsRefusedNamingTheString() throws {
        for bad: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x80]] {
            for tail in [#"\n"}"#, #""}"#] {
                let bytes = Array(#"{"k": "ab"#.utf8) + bad + Array(tail.utf8)
                let error = try #require(throws: JSONParser.Failure.self) { try JSONParser.parse(bytes) }
                #expect(error.description == "invalid UTF-8 in the string starting at byte 6", "\(bad) \(tail)")
            }
        }
    }

    /// 512 levels of arrays or objects are read, 513 are not, and a deep document is refused
    /// without recursing past the limit. (Swift Testing runs this on a cooperative-pool thread,
    /// where the worker parses jobs.)
    @Test func nestingIsBoundedWithoutRecursingPastTheLimit() throws {
        let limit = JSONParser.maxDepth
        for (open, close) in [("[", "]"), (#"{"a":"#, "}")] {
            let deepest = String(repeating: open, count: limit) + "1" + String(repeating: close, count: limit)
            #expect(throws: Never.self) { try JSONParser.parse(Array(deepest.utf8)) }
            let tooDeep = String(repeating: open, count: limit + 1) + "1" + String(repeating: close, count: limit + 1)
            let error = try #require(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(tooDeep.utf8)) }
            #expect(error.reason == "nested deeper than \(limit) levels", "\(open)")
        }
        let unbalanced = String(repeating: #"{"a":["#, count: 100_000)
        let error = try #require(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(unbalanced.utf8)) }
        #expect(error.reason == "nested deeper than \(limit) levels")
    }

    @Test func numbersAndEscapesReadExactly() throws {
        guard case .number(let negativeZero) = try JSONParser.parse(Array("-0".utf8)) else { Issue.record("-0 is not a number"); return }
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        #expect(try JSONParser.parse(Array("0.000e5".utf8)) == .number(0))
        #expect(try JSONParser.parse(Array("2.5E+3".utf8)) == .number(2500))
        guard case .array(let zeros) = try JSONParser.parse(Array("[0e7, -0E-2]".utf8)), zeros.count == 2,
              case .number(let plain) = zeros[0], case .number(let negative) = zeros[1] else { Issue.record("not two numbers"); return }
        #expect(plain == 0 && plain.sign == .plus && negative == 0 && negative.sign == .minus)
        #expect(try JSONParser.parse(Array(#""\ud83d\ude00 \u00e9\/\b\f\r""#.utf8)) == .string("😀 é/\u{8}\u{c}\r"))
        #expect(try JSONParser.parse(Array(#"{"k": 1, "k": 2}"#.utf8)) == .object(["k": .number(2)]))
        #expect(try JSONParser.parse(Array(" \t\r\n{} \n".utf8)) == .object([:]))
    }

    @Test func errorsShowOneByteOfTheInputAtMost() throws {
        let secret = String(repeating: "S", count: 500)
        let error = try #require(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(#"{"k": "\#(secret)" x}"#.utf8)) }
        #expect(!error.description.contains("SS"))
        #expect(error.description == "expected ',' or '}', found 'x' at byte 509")
    }
}
