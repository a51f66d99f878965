import Foundation

extension DeadLetter {
    /// One JSON object per dead letter (`llmq dlq list` when piped). `job` is the job's text when it
    /// is UTF-8, else `job_base64`.
    public func jsonLine() -> String {
        var object: [String: Any] = [
            "topic": position.topicPartition.topic, "partition": Int(position.topicPartition.partition), "offset": position.offset,
            "status": status, "error_kind": errorKind, "error_message": errorMessage, "replays": replays,
        ]
        if let timestamp { object["timestamp"] = ISO8601DateFormatter().string(from: timestamp) }
        if let attempts { object["attempts"] = attempts }
        if let jobID { object["job_id"] = jobID }
        if let replayOf { object["replay_of"] = replayOf }
        if let source {
            object["source"] = ["topic": source.topicPartition.topic, "partition": Int(source.topicPartition.partition), "offset": source.offset]
        }
        if let text = String(validating: value, as: UTF8.self) {
            object["job"] = text
        } else {
            object["job_base64"] = Data(value).base64EncodedString()
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The terminal table of dead letters.
    public static func table(_ letters: [DeadLetter]) -> String {
        var table = TextTable("PARTITION/OFFSET", "TIME", "STATUS", "KIND", "JOB", "ATTEMPTS", "REPLAYS", "MESSAGE")
        let formatter = ISO8601DateFormatter()
        for l in letters {
            let message = l.errorMessage.count > 60 ? l.errorMessage.prefix(59) + "…" : Substring(l.errorMessage)
            table.add("\(l.position.topicPartition.partition)/\(l.position.offset)", l.timestamp.map { formatter.string(from: $0) } ?? "-",
                      l.status, l.errorKind, l.jobID ?? "-", l.attempts.map(String.init) ?? "-", "\(l.replays)", String(message))
        }
        return table.render()
    }
}
