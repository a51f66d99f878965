import LLMQCore
import LLMQKafka
import Logging

/// Reads the dead-letter topic (`llmq dlq list`) and puts dead letters back on the jobs topic
/// (`llmq dlq replay`).
///
/// Replays are idempotent per dead letter: each replayed job carries `llmq.replay.of=<dlq topic>/<partition>/<offset>`,
/// and a replay first scans the jobs topic for those headers and skips dead letters already put back.
/// (A committed offset for the replayer would not do: a filtered replay would skip, for good, the
/// dead letters it did not match.) The scan reads the jobs topic as far back as its retention keeps.
public struct DeadLetterQueue: Sendable {
    let admin: KafkaAdmin
    let scanner: TopicScanner
    public let topic: String
    public let jobsTopic: String
    let kafka: KafkaConfig
    let logger: Logger

    /// - Parameters:
    ///   - kafka: connection settings (bootstrap servers, security); no group is joined.
    public init(kafka: KafkaConfig, topic: String, jobsTopic: String, logger: Logger = Logger(label: "llmq.dlq")) throws {
        var plain = kafka
        plain["group.id"] = nil
        admin = try KafkaAdmin(config: plain, logger: logger)
        scanner = TopicScanner(config: plain, logger: logger)
        self.kafka = plain
        self.topic = topic
        self.jobsTopic = jobsTopic
        self.logger = logger
    }

    /// Messages now in the dead-letter topic.
    public func count() async throws -> Int64 {
        try await admin.watermarks(topic: topic).values.reduce(0) { $0 + $1.count }
    }

    /// Calls `each` for every dead letter matching `filter`, in offset order per partition.
    /// Returns how many messages were read.
    @discardableResult
    public func list(_ filter: DeadLetterFilter = DeadLetterFilter(), each: (DeadLetter) throws -> Void) async throws -> Int {
        var read = 0
        for try await message in try await scan(topic) {
            read += 1
            let letter = DeadLetter(message)
            if filter.matches(letter) { try each(letter) }
        }
        return read
    }

    /// What a replay did (or, with `dryRun`, would do).
    public struct ReplaySummary: Sendable, Hashable {
        /// Dead letters matching the filter.
        public var matched = 0
        /// Put back on the jobs topic (with `dryRun`: would have been).
        public var replayed = 0
        /// Skipped: a job on the jobs topic already names them in `llmq.replay.of`.
        public var alreadyReplayed = 0
        /// Skipped: `invalid` dead letters without `force` (replaying them unchanged fails again).
        public var invalidSkipped = 0
        /// Jobs-topic messages scanned for earlier replays.
        public var scannedJobs = 0
        public init() {}
    }

    /// Puts the dead letters matching `filter` back on the jobs topic, byte for byte, each at most once.
    /// `progress` is told how many were acknowledged so far, and the total first (`willReplay`).
    public func replay(_ filter: DeadLetterFilter, dryRun: Bool = false, force: Bool = false,
                       willReplay: (Int) -> Void = { _ in }, progress: (Int) -> Void = { _ in },
                       replayed each: (DeadLetter) -> Void = { _ in }) async throws -> ReplaySummary {
        var summary = ReplaySummary()
        var candidates: [DeadLetter] = []
        try await list(filter) { letter in
            summary.matched += 1
            if letter.status == "invalid" && !force {
                summary.invalidSkipped += 1
            } else {
                candidates.append(letter)
            }
        }
        let done = try await replayedMarkers(among: Set(candidates.map(\.marker)), scanned: &summary.scannedJobs)
        candidates.removeAll { letter in
            guard done.contains(letter.marker) else { return false }
            summary.alreadyReplayed += 1
            return true
        }
        willReplay(candidates.count)
        guard !dryRun else {
            summary.replayed = candidates.count
            candidates.forEach(each)
            return summary
        }
        guard !candidates.isEmpty else { return summary }
        let producer = try KafkaProducer(config: kafka, logger: logger)
        let deliveries = DeliveryCount()
        do {
            for letter in candidates {
                try await producer.produce(letter.replay(to: jobsTopic), handler: deliveries)
                each(letter)
                progress(deliveries.count)
            }
            try await deliveries.waitForAll(producer)
        } catch {
            await producer.close()
            throw error
        }
        progress(deliveries.count)
        await producer.close()
        summary.replayed = deliveries.count
        return summary
    }

    /// The markers among `wanted` that a job on the jobs topic carries as `llmq.replay.of`.
    private func replayedMarkers(among wanted: Set<String>, scanned: inout Int) async throws -> Set<String> {
        guard !wanted.isEmpty else { return [] }
        var found: Set<String> = []
        for try await message in try await scan(jobsTopic) {
            scanned += 1
            if let marker = message.headers.string(DeadLetterHeaders.replayOf), wanted.contains(marker) { found.insert(marker) }
        }
        return found
    }

    /// Everything now in `topic`, from each partition's low to its high watermark.
    private func scan(_ topic: String) async throws -> AsyncThrowingStream<ConsumerMessage, any Error> {
        let ranges = try await admin.watermarks(topic: topic).mapValues { $0.low..<$0.high }
        return try scanner.scan(topic: topic, ranges: ranges)
    }
}
