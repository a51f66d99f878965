import CRdKafka

/// librdkafka configuration: any property by its librdkafka name.
///
/// Values are kept as given and applied when a client is created; `validate()` applies them to a
/// scratch configuration so a bad key or value is reported at start-up with librdkafka's own message.
public struct KafkaConfig: Sendable, Hashable {
    public private(set) var properties: [(key: String, value: String)] = []

    public init() {}

    public init(_ properties: [String: String]) {
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) { self[key] = value }
    }

    /// The value of a property, if set here (librdkafka defaults are not reported).
    public subscript(key: String) -> String? {
        get { properties.last(where: { $0.key == key })?.value }
        set {
            properties.removeAll { $0.key == key }
            if let newValue { properties.append((key, newValue)) }
        }
    }

    /// Sets `key` only when the caller has not set it.
    public mutating func setDefault(_ key: String, _ value: String) {
        if self[key] == nil { self[key] = value }
    }

    /// Throws `KafkaError.Code.configuration` with librdkafka's message if any property is rejected.
    public func validate() throws {
        let conf = try makeNativeConfig()
        rd_kafka_conf_destroy(conf)
    }

    /// Builds an `rd_kafka_conf_t`; the caller owns it.
    func makeNativeConfig() throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .configuration, message: "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                // librdkafka names the key in errstr; it never echoes values of secret properties.
                let message = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError(code: .configuration, message: "kafka.\(key): \(message)")
            }
        }
        return conf
    }

    public static func == (lhs: KafkaConfig, rhs: KafkaConfig) -> Bool {
        lhs.properties.elementsEqual(rhs.properties) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        for (key, value) in properties {
            hasher.combine(key)
            hasher.combine(value)
        }
    }
}
