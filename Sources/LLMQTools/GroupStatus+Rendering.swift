import Foundation

extension GroupStatus {
    /// The terminal view: members, partitions, and one summary line.
    public func table() -> String {
        var lines = ["group \(group)\(state.map { " (\($0))" } ?? "") · topic \(jobsTopic) · \(partitions.count) partitions · members from \(membersSource)"]
        if let note { lines.append("note: \(note)") }
        var members = TextTable("MEMBER", "HOST", "PARTITIONS", "IN FLIGHT", "OLDEST QUEUED")
        for m in self.members {
            members.add(m.id, m.host ?? "-", m.partitions.isEmpty ? "-" : m.partitions.map(String.init).joined(separator: ","),
                        m.inFlight.map(String.init) ?? "?", m.oldestQueuedSeconds.map { String(format: "%.1fs", $0) } ?? "?")
        }
        lines.append(members.render())
        var parts = TextTable("PARTITION", "COMMITTED", "END", "LAG", "OWNER")
        for p in partitions {
            parts.add("\(p.partition)", p.committed.map(String.init) ?? "-", "\(p.high)", "\(p.lag)", p.owner ?? "-")
        }
        lines.append(parts.render())
        let inFlight = self.members.compactMap(\.inFlight)
        var summary = "lag \(totalLag) jobs · in flight \(inFlight.isEmpty ? "?" : "\(inFlight.reduce(0, +))") · dead letters \(deadLetters)"
        summary += " · rate " + (rate.map { String(format: "%.1f jobs/s", $0) } ?? "?")
        summary += " · drain " + (drainSeconds.map { ProgressReporter.duration($0) } ?? (rate == nil ? "?" : "∞ (nothing consumed)"))
        lines.append(summary)
        return lines.joined(separator: "\n")
    }

    /// The snapshot as one JSON object (stable key order).
    public func json() -> String {
        func orNull<T>(_ value: T?) -> Any { value.map { $0 as Any } ?? NSNull() }
        let object: [String: Any] = [
            "group": group, "topic": jobsTopic, "taken_at": ISO8601DateFormatter().string(from: takenAt),
            "state": orNull(state), "members_source": membersSource, "note": orNull(note),
            "members": members.map { m -> [String: Any] in
                ["id": m.id, "client_id": orNull(m.clientID), "host": orNull(m.host), "partitions": m.partitions.map(Int.init),
                 "metrics_url": orNull(m.metricsURL), "in_flight": orNull(m.inFlight), "oldest_queued_seconds": orNull(m.oldestQueuedSeconds)]
            },
            "partitions": partitions.map { p -> [String: Any] in
                ["partition": Int(p.partition), "committed": orNull(p.committed), "low": p.low, "high": p.high, "lag": p.lag,
                 "owner": orNull(p.owner)]
            },
            "lag": totalLag, "dead_letters": deadLetters, "rate_per_second": orNull(rate), "drain_seconds": orNull(drainSeconds),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
