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

    /// On a job put back by `llmq dlq replay`: how many times this job has been replayed (1, 2, ...).
    /// The worker copies a job's own headers to its dead letter, so a job that keeps failing shows it.
    public static let replays = "llmq.replays"
    /// On a replayed job: the dead letter it came from, `<topic>/<partition>/<offset>`. `llmq dlq replay`
    /// skips dead letters that a job on the jobs topic already names, so replaying twice enqueues once.
    public static let replayOf = "llmq.replay.of"

    /// The headers the worker adds to a dead letter (the rest are the job's own).
    public static let added: Set<String> = [errorKind, errorMessage, status, attempts, sourceTopic, sourcePartition, sourceOffset, jobID]
}
