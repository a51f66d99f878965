/// Logger metadata keys, defined once so every line about a job can be found the same way.
enum LogKeys {
    static let jobID = "job_id"
    static let topic = "topic"
    static let partition = "partition"
    static let offset = "offset"
    static let attempt = "attempt"
    static let streamID = "stream_id"
    static let errorKind = "error_kind"
    static let error = "error"
    static let worker = "worker"
}
