/// Header names on dead-letter copies of failed and invalid jobs. The value is the job, byte for byte.
public enum DeadLetterHeaders {
    public static let errorKind = "llmq.error.kind"
    public static let errorMessage = "llmq.error.message"
    public static let status = "llmq.status"
    public static let attempts = "llmq.attempts"
    public static let sourceTopic = "llmq.source.topic"
    public static let sourcePartition = "llmq.source.partition"
    public static let sourceOffset = "llmq.source.offset"
    public static let jobID = "llmq.job_id"
}
