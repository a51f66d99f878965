/// Decodes a member's assignment as the Kafka consumer protocol encodes it (the `member_assignment`
/// bytes of a group description): version int16, then [topic string, [partition int32]], then user data.
public enum ConsumerGroupAssignment {
    /// The partitions in `bytes`; throws when the bytes are not a consumer-protocol assignment.
    public static func decode(_ bytes: [UInt8]) throws(KafkaError) -> [TopicPartition] {
        // An empty assignment (a member that got nothing) may come as zero bytes.
        if bytes.isEmpty { return [] }
        var reader = Reader(bytes: bytes)
        _ = try reader.int16()  // version
        var result: [TopicPartition] = []
        let topics = try reader.int32()
        for _ in 0..<max(0, topics) {
            let topic = try reader.string()
            let partitions = try reader.int32()
            for _ in 0..<max(0, partitions) {
                result.append(TopicPartition(topic, try reader.int32()))
            }
        }
        return result
    }

    /// Encodes partitions the way the consumer protocol does (version 0, no user data); for tests.
    public static func encode(_ partitions: [TopicPartition]) -> [UInt8] {
        var out: [UInt8] = []
        func int16(_ v: Int16) { out += [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
        func int32(_ v: Int32) { out += (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        let byTopic = Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }
        int16(0)
        int32(Int32(byTopic.count))
        for (topic, tps) in byTopic {
            int16(Int16(topic.utf8.count))
            out += Array(topic.utf8)
            int32(Int32(tps.count))
            for tp in tps { int32(tp.partition) }
        }
        int32(-1)  // no user data
        return out
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func take(_ count: Int) throws(KafkaError) -> ArraySlice<UInt8> {
            guard count >= 0, index + count <= bytes.count else {
                throw KafkaError(code: .query, message: "malformed member assignment (\(bytes.count) bytes)")
            }
            defer { index += count }
            return bytes[index..<index + count]
        }
        mutating func int16() throws(KafkaError) -> Int16 { try take(2).reduce(0) { $0 << 8 | Int16($1) } }
        mutating func int32() throws(KafkaError) -> Int32 { try take(4).reduce(0) { $0 << 8 | Int32($1) } }
        mutating func string() throws(KafkaError) -> String {
            let length = Int(try int16())
            return String(decoding: try take(length), as: UTF8.self)
        }
    }
}
