#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// ERNIE events: every one is checked for `error_code` (ERNIE reports errors mid-stream as
/// events); complete at `is_end`, or at a safety refusal (`need_clear_history` / `ban_round`).
struct ErnieStreamDecoder: StreamEventDecoder {
    let secrets: Secrets
    private let json = JSONDecoder()
    private(set) var completion: ProviderCompletion
    private(set) var isComplete = false
    var missingEnd: String { "the stream ended without is_end" }

    init(model: String, secrets: Secrets) {
        self.secrets = secrets
        self.completion = ProviderCompletion(model: model)
    }

    mutating func decode(_ event: SSEEvent) throws -> String? {
        let decoded: ErnieWire.Event
        do {
            decoded = try JSONCoding.decode(ErnieWire.Event.self, from: event.data, using: self.json)
        } catch {
            throw HTTPCall.undecodable("event", snippet: self.secrets.snippet(event.data), partialUsage: self.completion.usage)
        }
        return try self.apply(decoded)
    }

    /// Applies one event (or a whole non-streamed response) and returns its text.
    mutating func apply(_ event: ErnieWire.Event) throws -> String? {
        if let code = event.error_code, code != 0 {
            throw ErnieWire.error(code: code, message: event.error_msg, secrets: self.secrets, partialUsage: self.completion.usage)
        }
        if let usage = event.usage { self.completion.usage = usage.tokenUsage }
        let filtered = event.need_clear_history == true || event.ban_round != nil
        if event.is_end == true || filtered {
            self.completion.finishReason = ErnieWire.finishReason(event, filtered: filtered)
            self.isComplete = true
        }
        return event.result
    }
}
