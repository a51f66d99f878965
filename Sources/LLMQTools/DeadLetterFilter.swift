import Foundation

/// Which dead letters `llmq dlq list` shows and `llmq dlq replay` puts back. Unset fields match all.
public struct DeadLetterFilter: Sendable, Hashable {
    /// `failed` or `invalid`.
    public var status: String?
    /// The error kind, e.g. `http_500`, `timeout_first_chunk`, `invalid_json`.
    public var errorKind: String?
    public var jobID: String?
    /// Written at or after this time.
    public var since: Date?
    /// Written before this time.
    public var until: Date?

    public init(status: String? = nil, errorKind: String? = nil, jobID: String? = nil, since: Date? = nil, until: Date? = nil) {
        self.status = status
        self.errorKind = errorKind
        self.jobID = jobID
        self.since = since
        self.until = until
    }

    public func matches(_ letter: DeadLetter) -> Bool {
        if let status, letter.status != status { return false }
        if let errorKind, letter.errorKind != errorKind { return false }
        if let jobID, letter.jobID != jobID { return false }
        if let since, (letter.timestamp ?? .distantPast) < since { return false }
        if let until, (letter.timestamp ?? .distantFuture) >= until { return false }
        return true
    }

    /// Parses `--since`/`--until`: an ISO 8601 time (`2026-11-29T10:00:00Z`) or an age before now
    /// (`90s`, `15m`, `2h`, `3d`).
    public static func parseTime(_ text: String, now: Date = Date()) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        guard let unit = text.last, let amount = Double(text.dropLast()), amount >= 0 else { return nil }
        let seconds: Double
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3600
        case "d": seconds = 86400
        default: return nil
        }
        return now.addingTimeInterval(-amount * seconds)
    }
}
