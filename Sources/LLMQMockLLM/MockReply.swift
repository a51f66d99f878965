/// The stand-in's deterministic replies: a pure function of the prompt and the word count that
/// reads like an answer to the prompt (it names the prompt's subject), the first thing a newcomer
/// sees in `llmq dev` and on the gateway's page.
///
/// The sentences also exercise what clients must get right: JSON escaping (quotes, backslashes,
/// line breaks, a tab) and multi-byte UTF-8 (2-, 3- and 4-byte sequences: "naïve", "→", "🙂").
public enum MockReply {
    static let openers = [
        "You asked: “{topic}” Here is a short answer.", "On “{topic}”: here is the short version.",
        "Good question! “{topic}” comes down to a few ideas.", "Happy to help with “{topic}”.",
    ]

    static let sentences = [
        "Think of it as a pipeline: work goes in on one side and results come out on the other.",
        "The naïve approach works until the load grows, and then backpressure matters more than speed.",
        "Kafka keeps every step durable, so a crash may repeat work but never loses it.",
        "A common mistake is to read \"at-least-once\" as \"exactly-once\" → duplicates then surprise people.",
        "Measure first, then tune 🙂 most guesses about bottlenecks are wrong.",
        "In JSON a line break inside a string is written as \\n and a tab as \\t, which every client must undo.",
        "Each retry starts a fresh stream, so a reader always knows which text is the current one.",
        "The short version: keep it simple, observable and bounded.",
        "First decide what done means;\nthen make every failure visible.",
        "Most of the time the limit is the provider's rate, not the queue itself.",
        "Small batches and a watchful eye on the lag go a long way.",
        "A useful rule of thumb:\tone partition per replica you may ever run.",
        "If you remember one thing, make it this: slow consumers must never grow memory.",
        "Timeouts belong at every hop, from the first token to the whole call.",
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
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % 1_000_003)
        }
        let topic = subject(of: prompt)
        var text: [Substring] = []
        var sentence = openers[next() % openers.count]
        var previous = -1
        while true {
            text += sentence.replacing("{topic}", with: topic).split(separator: " ")
            if text.count >= words { break }
            var index = next() % sentences.count
            if index == previous { index = (index + 1) % sentences.count }
            previous = index
            sentence = sentences[index]
        }
        return text.prefix(words).enumerated().map { index, word in index == words - 1 ? String(word) : word + " " }
    }

    /// The prompt as the reply quotes it: without the `[[mock ...]]` directive, on one line, at
    /// most eight words ("…" marks a cut).
    static func subject(of prompt: String) -> String {
        var text = Substring(prompt)
        if let open = text.firstRange(of: "[[mock") {
            let close = text[open.upperBound...].firstRange(of: "]]")?.upperBound ?? text.endIndex
            text = text[..<open.lowerBound] + text[close...]
        }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
        guard !words.isEmpty else { return "this" }
        return words.prefix(8).joined(separator: " ") + (words.count > 8 ? "…" : "")
    }
}
