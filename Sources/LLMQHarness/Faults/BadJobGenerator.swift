import LLMQTesting

/// Malformed, truncated, oversized, wrongly typed and hostile job payloads, from a seed.
/// Every payload it makes is invalid: none may become a provider call.
struct BadJobGenerator {
    var rng: SeededRandom
    /// Payloads above this size must be rejected unread (the workers run with the same limit).
    let maxJobBytes: Int

    static let categories = [
        "truncated", "wrong_type", "missing_id", "oversized", "deep_nesting", "invalid_utf8",
        "random_bytes", "raw_control_chars", "not_an_object", "bad_field", "empty",
    ]

    init(seed: UInt64, maxJobBytes: Int) {
        rng = SeededRandom(seed: seed)
        self.maxJobBytes = maxJobBytes
    }

    mutating func next(index: Int) -> (category: String, payload: [UInt8]) {
        let category = Self.categories[index % Self.categories.count]
        let valid = #"{"id":"bad-\#(index)","messages":[{"role":"user","content":"hello \#(index)"}],"params":{"max_tokens":5}}"#
        switch category {
        case "truncated":
            let bytes = Array(valid.utf8)
            return (category, Array(bytes.prefix(Int.random(in: 1..<(bytes.count - 1), using: &rng))))
        case "wrong_type":
            let variants = [
                #"{"id":\#(index),"prompt":"x"}"#, #"{"id":"bad-\#(index)","prompt":42}"#,
                #"{"id":"bad-\#(index)","messages":{"role":"user"}}"#, #"{"id":"bad-\#(index)","prompt":"x","params":[1,2]}"#,
                #"{"id":"bad-\#(index)","prompt":"x","stream":"yes"}"#, #"{"id":"bad-\#(index)","prompt":"x","deadline":1700000000}"#,
                #"{"id":"bad-\#(index)","prompt":"x","metadata":"m"}"#, #"{"id":"bad-\#(index)","prompt":"x","params":{"max_tokens":"many"}}"#,
            ]
            return (category, Array(variants.randomElement(using: &rng)!.utf8))
        case "missing_id":
            let variants = [#"{"prompt":"x"}"#, #"{"id":"","prompt":"x"}"#, #"{"__proto__":{"id":"x"},"prompt":"x"}"#,
                            #"{"id":null,"prompt":"x"}"#, "{\"id\":\"\(String(repeating: "i", count: 300))\",\"prompt\":\"x\"}"]
            return (category, Array(variants.randomElement(using: &rng)!.utf8))
        case "oversized":
            let size = maxJobBytes + Int.random(in: 1...maxJobBytes, using: &rng)
            return (category, Array(("{\"id\":\"bad-\(index)\",\"prompt\":\"" + String(repeating: "x", count: size) + "\"}").utf8))
        case "deep_nesting":
            let depth = Int.random(in: 600...(maxJobBytes / 2 - 10), using: &rng)
            let open = Bool.random(using: &rng) ? "[" : "{\"a\":"
            let close = open == "[" ? "]" : "}"
            return (category, Array((String(repeating: open, count: depth / open.count) + String(repeating: close, count: depth / open.count)).utf8))
        case "invalid_utf8":
            var bytes = Array(#"{"id":"bad-\#(index)","prompt":""#.utf8)
            bytes += [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x28, 0xA1], [0xF8, 0x88, 0x80, 0x80, 0x80]].randomElement(using: &rng)!
            bytes += Array("\"}".utf8)
            return (category, bytes)
        case "random_bytes":
            // A leading byte that no JSON document starts with keeps it invalid.
            return (category, [0x01] + (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case "raw_control_chars":
            return (category, Array("{\"id\":\"bad-\(index)\",\"prompt\":\"a\u{01}b\u{00}c\"}".utf8))
        case "not_an_object":
            return (category, Array(["null", "[]", "\"job\"", "12345678901234567890", "true", "[{\"id\":\"x\"}]"].randomElement(using: &rng)!.utf8))
        case "bad_field":
            let variants = [
                #"{"id":"bad-\#(index)","messages":[{"role":"wizard","content":"x"}]}"#,
                #"{"id":"bad-\#(index)","messages":[]}"#,
                #"{"id":"bad-\#(index)","prompt":"x","messages":[{"role":"user","content":"y"}]}"#,
                #"{"id":"bad-\#(index)","prompt":"x","params":{"temperature":9}}"#,
                #"{"id":"bad-\#(index)","prompt":"x","params":{"frequency_penalty":1}}"#,
                #"{"id":"bad-\#(index)","prompt":"x","deadline":"tomorrow"}"#,
                #"{"id":"bad-\#(index)"}"#,
            ]
            return (category, Array(variants.randomElement(using: &rng)!.utf8))
        default:
            return ("empty", [])
        }
    }
}
