import Foundation

/// A message on the control topic (`topic.control`, default `llmq.control`), keyed by job id.
/// Every worker reads the control topic without a consumer group.
///
///     {"type": "cancel", "job_id": "job-42", "at": "2026-11-29T10:00:00Z"}
///
/// A cancelled job that is running stops at once (its stream ends with `abort`, reason
/// `cancelled`); one not yet taken gets its `cancelled` result without a provider call. Either way
/// the result has status `cancelled`, there is no dead letter, and the offset moves on.
public struct ControlMessage: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case cancel
    }

    public var type: Kind
    public var jobID: String
    /// When the cancel was requested.
    public var at: Date

    public init(cancel jobID: String, at: Date = Date()) {
        self.type = .cancel
        self.jobID = jobID
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case type, jobID = "job_id", at }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and a date: nothing here lacks a JSON form.
        return (try? Array(encoder.encode(self))) ?? []
    }

    /// Nil for anything that is not a control message this version understands.
    public static func decode(_ bytes: [UInt8]) -> ControlMessage? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(ControlMessage.self, from: Data(bytes))
    }
}
