/// Per-request settings embedded in the last user message, so tests that go through a worker can
/// pick faults per job.
///
/// Grammar: the first `[[mock ...]]` in the message; inside, space-separated `key=value` pairs
/// (unknown keys and bad values are ignored):
///
///     words=N            reply length in words
///     delay_ms=N         wait before the first event (the response head is sent at once)
///     gap_ms=N           wait between events
///     fail=STATUS        answer with HTTP STATUS and an OpenAI-style error body
///     fail_code=CODE     `error.code` in that body (e.g. insufficient_quota)
///     retry_after=S      add `Retry-After: S` (seconds) to the failure
///     fail_times=N       faults hit only the first N requests with this exact prompt; later ones succeed
///                        (any fault: e.g. `malformed_after=0 fail_times=1` corrupts only the first stream;
///                        requests refused by the server's rate limit or quota are not counted)
///     cut_after=K        end the stream cleanly after K deltas, without [DONE] / is_end
///     malformed_after=K  after K deltas send an event whose data is not JSON (0: the first event), then end
///     hang=first|mid     go silent (connection open) before the first event / after the first delta
///     ernie_error=N      ERNIE: answer HTTP 200 {"error_code": N, ...}
///     error_after=K      send the error (ernie_error, or for `fail` an OpenAI error event) after K deltas, mid-stream
///     filter=1           end as a safety refusal (finish_reason content_filter / need_clear_history + ban_round)
///
/// Example: `Tell me a story [[mock words=5 fail=429 retry_after=1 fail_times=2]]`.
/// The directive is part of the prompt, so it also feeds `MockReply.pieces(for:words:)`.
public struct MockDirective: Sendable, Hashable {
    public var words: Int?
    public var delay: Duration?
    public var gap: Duration?
    public var faults: MockFaults

    /// Parses the directive in `prompt` over the server-wide `base` faults.
    public init(parsing prompt: String, base: MockFaults = MockFaults()) {
        self.faults = base
        guard let open = prompt.firstRange(of: "[[mock"),
            let close = prompt[open.upperBound...].firstRange(of: "]]")
        else { return }
        for pair in prompt[open.upperBound..<close.lowerBound].split(separator: " ") {
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let key = pair[..<eq]
            let value = String(pair[pair.index(after: eq)...])
            let number = Int(value)
            switch key {
            case "words": self.words = number
            case "delay_ms": self.delay = number.map { .milliseconds($0) }
            case "gap_ms": self.gap = number.map { .milliseconds($0) }
            case "fail": self.faults.failStatus = number
            case "fail_code": self.faults.failCode = value
            case "retry_after": self.faults.retryAfterSeconds = number
            case "fail_times": self.faults.failTimes = number
            case "cut_after": self.faults.cutAfter = number
            case "malformed_after": self.faults.malformedAfter = number
            case "hang": self.faults.hang = MockFaults.Hang(rawValue: value)
            case "ernie_error": self.faults.ernieError = number
            case "error_after": self.faults.errorAfter = number
            case "filter": self.faults.contentFilter = number.map { $0 != 0 } ?? false
            default: continue
            }
        }
    }
}
