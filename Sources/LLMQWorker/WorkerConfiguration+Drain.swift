extension WorkerConfiguration {
    /// After in-flight jobs are drained (or cancelled), how long the producer may flush.
    public static let drainFlushLimit: Duration = .seconds(10)
    /// Then how long the final commit may wait for the group to settle.
    public static let drainCommitLimit: Duration = .seconds(10)

    /// The longest a SIGTERM can take to end the process: the shutdown grace, the flush and the
    /// commit. Orchestrators' stop grace periods must exceed it.
    public var worstCaseDrain: Duration { shutdownGrace + Self.drainFlushLimit + Self.drainCommitLimit }
}
