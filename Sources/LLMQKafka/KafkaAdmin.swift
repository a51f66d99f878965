import CRdKafka
import Logging

/// Read-only questions about topics and a consumer group, for operator tooling (`llmq status`,
/// `llmq dlq`): partition counts, watermarks, a group's committed offsets and its members.
///
/// It never joins the group: it only asks the coordinator (OffsetFetch, ListGroups/DescribeGroups),
/// so using it does not trigger a rebalance. Every call that waits on the network runs off the
/// cooperative pool.
public final class KafkaAdmin: Sendable {
    private let client: RdKafkaClient
    /// The group whose committed offsets `committed(_:)` reads (the config's `group.id`), if any.
    public let group: String?

    /// `config` supplies bootstrap servers, security settings and the `group.id` to inspect.
    public init(config: KafkaConfig, logger: Logger = Logger(label: "llmq.kafka.admin")) throws {
        var config = config
        // Never commit anything on the inspected group's behalf.
        config["enable.auto.commit"] = "false"
        config["enable.auto.offset.store"] = "false"
        group = config["group.id"]
        client = try RdKafkaClient(kind: .consumer, config: config, logger: logger)
    }

    /// The number of partitions of `topic`; throws when the topic does not exist.
    public func partitionCount(topic: String, timeout: Duration = .seconds(10)) async throws -> Int {
        let client = self.client
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        return try await runBlocking { () -> Result<Int, KafkaError> in
            guard let rkt = rd_kafka_topic_new(client.handle, topic, nil) else {
                return .failure(KafkaError(code: .query, message: "cannot create a handle for topic \(topic)"))
            }
            defer { rd_kafka_topic_destroy(rkt) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(client.handle, 0, rkt, &metadata, ms)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return .failure(KafkaError(code: .query, err)) }
            defer { rd_kafka_metadata_destroy(metadata) }
            guard metadata.pointee.topic_cnt == 1 else {
                return .failure(KafkaError(code: .query, message: "no metadata for topic \(topic)"))
            }
            let info = metadata.pointee.topics[0]
            if info.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                var error = KafkaError(code: .query, info.err)
                error.message = "topic \(topic): \(error.message)"
                return .failure(error)
            }
            return .success(Int(info.partition_cnt))
        }.get()
    }

    /// Low and high watermarks (first offset, next offset to be written) of each partition of `topic`.
    public func watermarks(topic: String, timeout: Duration = .seconds(10)) async throws -> [Int32: Watermarks] {
        let count = try await partitionCount(topic: topic, timeout: timeout)
        let client = self.client
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        return try await runBlocking { () -> Result<[Int32: Watermarks], KafkaError> in
            var result: [Int32: Watermarks] = [:]
            for partition in 0..<Int32(count) {
                var low: Int64 = 0
                var high: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(client.handle, topic, partition, &low, &high, ms)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { return .failure(KafkaError(code: .query, err)) }
                result[partition] = Watermarks(low: low, high: high)
            }
            return .success(result)
        }.get()
    }

    /// The group's committed next offsets (`group.id` of the config); nil for partitions without one.
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws -> [TopicPartition: Int64?] {
        guard group != nil else { throw KafkaError(code: .query, message: "committed offsets need kafka.group.id") }
        let client = self.client
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        return try await runBlocking { () -> Result<[TopicPartition: Int64?], KafkaError> in
            let list = TopicPartitionList(partitions)
            let err = rd_kafka_committed(client.handle, list.pointer, ms)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { return .failure(KafkaError(code: .query, err)) }
            var result: [TopicPartition: Int64?] = [:]
            for i in 0..<Int(list.pointer.pointee.cnt) {
                let e = list.pointer.pointee.elems[i]
                result[TopicPartition(String(cString: e.topic), e.partition)] = e.offset >= 0 ? e.offset : nil
            }
            return .success(result)
        }.get()
    }

    /// The group's state and members with their decoded assignments (ListGroups + DescribeGroups).
    /// Throws with `rdErrorName == "_UNSUPPORTED_FEATURE"` where the broker lacks these requests
    /// (librdkafka 2.0.2's mock cluster does).
    public func describeGroup(_ name: String, timeout: Duration = .seconds(10)) async throws -> GroupDescription {
        let client = self.client
        let ms = Int32(clamping: timeout.wholeMilliseconds)
        return try await runBlocking { () -> Result<GroupDescription, KafkaError> in
            var list: UnsafePointer<rd_kafka_group_list>?
            let err = rd_kafka_list_groups(client.handle, name, &list, ms)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return .failure(KafkaError(code: .query, err)) }
            defer { rd_kafka_group_list_destroy(list) }
            guard list.pointee.group_cnt >= 1 else { return .success(GroupDescription(name: name, state: "Dead", protocol: "", members: [])) }
            let info = list.pointee.groups[0]
            if info.err != RD_KAFKA_RESP_ERR_NO_ERROR { return .failure(KafkaError(code: .query, info.err)) }
            var members: [GroupDescription.Member] = []
            for i in 0..<Int(info.member_cnt) {
                let m = info.members[i]
                let bytes = m.member_assignment.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(m.member_assignment_size))) } ?? []
                let assignment: [TopicPartition]
                do throws(KafkaError) { assignment = try ConsumerGroupAssignment.decode(bytes) } catch { return .failure(error) }
                members.append(.init(memberID: String(cString: m.member_id), clientID: String(cString: m.client_id),
                                     clientHost: String(cString: m.client_host), assignment: assignment))
            }
            return .success(GroupDescription(name: name, state: info.state.map { String(cString: $0) } ?? "",
                                             protocol: info.protocol.map { String(cString: $0) } ?? "", members: members))
        }.get()
    }
}

