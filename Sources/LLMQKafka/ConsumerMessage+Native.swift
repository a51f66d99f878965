import CRdKafka

extension ConsumerMessage {
    /// Copies a message librdkafka handed out (payload, key, headers, timestamp); the caller still owns `pointer`.
    init(copying pointer: UnsafeMutablePointer<rd_kafka_message_t>) {
        let raw = pointer.pointee
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(pointer, &timestampType)
        self.init(topic: String(cString: rd_kafka_topic_name(raw.rkt)), partition: raw.partition, offset: raw.offset,
                  key: raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) },
                  value: raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? [],
                  headers: Self.headers(of: pointer),
                  timestampMs: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp)
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
            index += 1
        }
        return result
    }
}
