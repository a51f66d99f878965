import CRdKafka

extension RdKafkaClient {
    /// Routes librdkafka's statistics callback (emitted every `statistics.interval.ms`, served by
    /// the client's poll) to `callbacks.statistics`, parsed.
    static func installStatisticsCallback(on conf: OpaquePointer) {
        rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
            guard let json, let opaque else { return 0 }
            let client = Unmanaged<RdKafkaClient>.fromOpaque(opaque).takeUnretainedValue()
            guard let handler = client.callbacks.statistics else { return 0 }
            let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(json), count: length)
            do {
                handler(try ConsumerStatistics(json: bytes))
            } catch {
                client.logger.debug("statistics skipped", metadata: ["error": "\(error)"])
            }
            return 0  // librdkafka frees the document
        }
    }
}
