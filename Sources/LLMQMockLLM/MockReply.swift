/// The mock's deterministic replies: a pure function of the prompt and the word count.
public enum MockReply {
    /// Words include JSON-escaping work (quotes, backslashes, newlines, tabs) and multi-byte UTF-8
    /// (2-, 3- and 4-byte sequences), so clients are tested on both.
    static let vocabulary: [String] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
        "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
        "naïve", "日本語", "emoji🙂", "\"quoted\"", "back\\slash", "line\nbreak", "tab\there", "Ωmega",
    ]

    /// The reply to `prompt`, one element per delta ("word " with the last without the space);
    /// `pieces.joined()` is the full text.
    public static func pieces(for prompt: String, words: Int) -> [String] {
        guard words > 0 else { return [] }
        // FNV-1a of the prompt seeds a xorshift generator: same prompt, same reply, on every platform.
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in prompt.utf8 {
            state = (state ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        if state == 0 { state = 1 }
        var pieces: [String] = []
        pieces.reserveCapacity(words)
        for index in 0..<words {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let word = Self.vocabulary[Int(state % UInt64(Self.vocabulary.count))]
            pieces.append(index == words - 1 ? word : word + " ")
        }
        return pieces
    }
}
