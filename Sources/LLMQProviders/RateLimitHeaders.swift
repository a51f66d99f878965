import NIOHTTP1

/// What a response head says about the provider's rate limits: OpenAI's `x-ratelimit-*` headers
/// (also sent by DeepSeek, vLLM's proxies and the stand-in) and `Retry-After`.
public struct RateLimitHeaders: Sendable, Hashable {
    public var status: Int
    /// The account's limits per minute (`x-ratelimit-limit-*`, as OpenAI states them).
    public var limitRequests: Int?
    public var limitTokens: Int?
    public var remainingRequests: Int?
    /// Until the request limit is back to full (OpenAI: "time until the rate limit resets").
    public var resetRequests: Duration?
    public var remainingTokens: Int?
    public var resetTokens: Duration?
    public var retryAfter: Duration?

    public init(status: Int, limitRequests: Int? = nil, limitTokens: Int? = nil, remainingRequests: Int? = nil,
                resetRequests: Duration? = nil, remainingTokens: Int? = nil, resetTokens: Duration? = nil, retryAfter: Duration? = nil) {
        self.status = status
        self.limitRequests = limitRequests
        self.limitTokens = limitTokens
        self.remainingRequests = remainingRequests
        self.resetRequests = resetRequests
        self.remainingTokens = remainingTokens
        self.resetTokens = resetTokens
        self.retryAfter = retryAfter
    }

    public init(status: Int, headers: HTTPHeaders) {
        self.init(status: status,
                  limitRequests: headers.first(name: "x-ratelimit-limit-requests").flatMap { Int($0.trimmingSpaces) },
                  limitTokens: headers.first(name: "x-ratelimit-limit-tokens").flatMap { Int($0.trimmingSpaces) },
                  remainingRequests: headers.first(name: "x-ratelimit-remaining-requests").flatMap { Int($0.trimmingSpaces) },
                  resetRequests: headers.first(name: "x-ratelimit-reset-requests").flatMap { Self.duration($0.trimmingSpaces) },
                  remainingTokens: headers.first(name: "x-ratelimit-remaining-tokens").flatMap { Int($0.trimmingSpaces) },
                  resetTokens: headers.first(name: "x-ratelimit-reset-tokens").flatMap { Self.duration($0.trimmingSpaces) },
                  retryAfter: HTTPCall.retryAfter(headers))
    }

    /// How long new calls to this provider should hold off, if at all: what `Retry-After` asks on
    /// a 429 or 503, or until a limit resets when its remaining count is zero.
    public var holdOff: Duration? {
        var hold: Duration?
        if status == 429 || status == 503 { hold = retryAfter }
        if remainingRequests == 0, let resetRequests { hold = max(hold ?? .zero, resetRequests) }
        if remainingTokens == 0, let resetTokens { hold = max(hold ?? .zero, resetTokens) }
        return hold
    }

    /// OpenAI's reset durations: "1s", "120ms", "6m0s", "1m30.5s", "2h3m"; a bare number is seconds.
    static func duration(_ text: Substring) -> Duration? {
        if let seconds = Double(text) { return seconds >= 0 ? .fromSeconds(seconds) : nil }
        var total = 0.0
        var number = ""
        var rest = text[...]
        while let character = rest.first {
            if character.isNumber || character == "." {
                number.append(character)
                rest.removeFirst()
                continue
            }
            guard let value = Double(number) else { return nil }
            number = ""
            if rest.hasPrefix("ms") { total += value / 1000; rest.removeFirst(2) }
            else if rest.hasPrefix("h") { total += value * 3600; rest.removeFirst() }
            else if rest.hasPrefix("m") { total += value * 60; rest.removeFirst() }
            else if rest.hasPrefix("s") { total += value; rest.removeFirst() }
            else { return nil }
        }
        return number.isEmpty ? .fromSeconds(total) : nil
    }
}
