import Foundation
import LLMQCore
import LLMQKafka

/// One message of the dead-letter topic: the original job (value, key, its own headers) and what
/// the worker recorded about its failure.
public struct DeadLetter: Sendable {
    /// Where this dead letter sits: `<topic>/<partition>/<offset>`, the replay marker.
    public var position: TopicPartitionOffset
    /// When the worker wrote it.
    public var timestamp: Date?
    /// `failed` or `invalid`.
    public var status: String
    public var errorKind: String
    public var errorMessage: String
    public var attempts: Int?
    /// Where the job was read from.
    public var source: TopicPartitionOffset?
    public var jobID: String?
    /// How many times the job had been replayed before it landed here (0 for a first failure).
    public var replays: Int
    /// The dead letter this job was replayed from, when it was a replay.
    public var replayOf: String?
    public var key: [UInt8]?
    public var value: [UInt8]
    /// The job's own headers: everything but the worker's dead-letter headers.
    public var jobHeaders: [KafkaHeader]

    public init(_ message: ConsumerMessage) {
        let headers = message.headers
        position = TopicPartitionOffset(message.topicPartition, offset: message.offset)
        timestamp = message.timestampMs.map { Date(timeIntervalSince1970: Double($0) / 1000) }
        status = headers.string(DeadLetterHeaders.status) ?? ""
        errorKind = headers.string(DeadLetterHeaders.errorKind) ?? ""
        errorMessage = headers.string(DeadLetterHeaders.errorMessage) ?? ""
        attempts = headers.string(DeadLetterHeaders.attempts).flatMap { Int($0) }
        if let topic = headers.string(DeadLetterHeaders.sourceTopic),
           let partition = headers.string(DeadLetterHeaders.sourcePartition).flatMap({ Int32($0) }),
           let offset = headers.string(DeadLetterHeaders.sourceOffset).flatMap({ Int64($0) }) {
            source = TopicPartitionOffset(TopicPartition(topic, partition), offset: offset)
        }
        jobID = headers.string(DeadLetterHeaders.jobID)
        replays = headers.string(DeadLetterHeaders.replays).flatMap { Int($0) } ?? 0
        replayOf = headers.string(DeadLetterHeaders.replayOf)
        key = message.key
        value = message.value
        jobHeaders = headers.filter { !DeadLetterHeaders.added.contains($0.key) }
    }

    /// `<topic>/<partition>/<offset>`: the value of `llmq.replay.of` on this dead letter's replay.
    public var marker: String { Self.marker(position) }

    public static func marker(_ position: TopicPartitionOffset) -> String {
        "\(position.topicPartition.topic)/\(position.topicPartition.partition)/\(position.offset)"
    }

    /// The job as it was, for the jobs topic: value and key byte for byte, the job's own headers,
    /// with `llmq.replays` counted up and `llmq.replay.of` naming this dead letter.
    public func replay(to jobsTopic: String) -> OutgoingMessage {
        var headers = jobHeaders.filter { $0.key != DeadLetterHeaders.replays && $0.key != DeadLetterHeaders.replayOf }
        headers.append(KafkaHeader(key: DeadLetterHeaders.replays, string: "\(replays + 1)"))
        headers.append(KafkaHeader(key: DeadLetterHeaders.replayOf, string: marker))
        return OutgoingMessage(topic: jobsTopic, key: key, value: value, headers: headers)
    }
}
