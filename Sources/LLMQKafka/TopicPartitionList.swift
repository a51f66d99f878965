import CRdKafka

/// Owns an `rd_kafka_topic_partition_list_t`; frees it in `deinit`.
final class TopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ partitions: [TopicPartition]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        for tp in partitions {
            rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition)
        }
    }

    init(_ offsets: [TopicPartitionOffset]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        for tpo in offsets {
            let element = rd_kafka_topic_partition_list_add(pointer, tpo.topicPartition.topic, tpo.topicPartition.partition)
            element?.pointee.offset = tpo.offset
        }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    /// Reads a list librdkafka owns (not freed here).
    static func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartition] {
        var result: [TopicPartition] = []
        result.reserveCapacity(Int(list.pointee.cnt))
        for i in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[i]
            result.append(TopicPartition(String(cString: element.topic), element.partition))
        }
        return result
    }

    /// The first per-partition error in the list, if any.
    func firstError() -> rd_kafka_resp_err_t? {
        for i in 0..<Int(pointer.pointee.cnt) where pointer.pointee.elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            return pointer.pointee.elems[i].err
        }
        return nil
    }

    /// The partitions with their offsets.
    var offsets: [TopicPartitionOffset] {
        (0..<Int(pointer.pointee.cnt)).map { i in
            let e = pointer.pointee.elems[i]
            return TopicPartitionOffset(TopicPartition(String(cString: e.topic), e.partition), offset: e.offset)
        }
    }
}
