/// `NAME:PARTITIONS`, as given to `llmq dev-broker --topic`.
public struct TopicSpec: Sendable, Hashable {
    public var name: String
    public var partitions: Int

    public init(name: String, partitions: Int) {
        self.name = name
        self.partitions = partitions
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let partitions = Int(parts[1]), partitions > 0 else {
            throw ConfigurationError(key: "--topic", message: "expected NAME:PARTITIONS with PARTITIONS > 0, got \"\(text)\"")
        }
        self.init(name: String(parts[0]), partitions: partitions)
    }
}
