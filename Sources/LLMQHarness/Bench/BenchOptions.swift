/// What `llmq bench` runs and at which sizes.
public struct BenchOptions: Sendable {
    /// Scenarios to run, in this order. Default: all.
    public var scenarios: [BenchScenario] = BenchScenario.allCases
    /// Drain: jobs enqueued before the worker starts. Default 2000.
    public var jobs = 2000
    /// Drain: deltas per job (a job makes `words + 2` chunk events). Default 50.
    public var drainWords = 50
    /// Drain: `worker.concurrency` of the worker (the worker's default). Default 64.
    public var drainConcurrency = 64
    /// Drain: `worker.chunk_coalesce_bytes` of the extra coalesced drain row; 0 skips that row. Default 64.
    public var coalesceBytes = 64
    /// Partitions of `llmq.chunks` in the latency and streams scenarios. Default 2.
    ///
    /// Why so few (issue 11): librdkafka's mock broker keeps each partition's log as a list of
    /// message sets (up to 5 MiB or 100,000 sets), walks that list from its head on every fetch,
    /// and answers a fetch with at most one set per partition. With slow streams almost every chunk
    /// event is a set of its own, so with more partitions the consumer needs a fetch per event and
    /// each fetch walks thousands of sets: the broker saturates and stalls (5,000 streams on 4
    /// partitions: broker 50 % of a core, p99 0.6 s; on 2: 22 %, 9 ms). The ceiling and the drain keep 12.
    public var chunkPartitions = 2
    /// Forward latency: total chunk events per second offered by the stand-in. Default 30000.
    public var rate = 30_000
    /// Forward latency: milliseconds between one stream's events (streams = rate × gap / 1000). Default 10.
    public var latencyGapMs = 10
    /// Forward latency: deltas per job. Default 200 (about 2 s per stream).
    public var latencyWords = 200
    /// Forward latency: how many times each stream slot is reused (jobs = streams × waves). Default 5.
    public var latencyWaves = 5
    /// Many slow streams: concurrent streams on one worker. Default 10000.
    public var streams = 10_000
    /// Many slow streams: deltas per stream. Default 30.
    public var slowWords = 30
    /// Many slow streams: range of milliseconds between one stream's events. Default 20...50.
    public var slowGapMs: ClosedRange<Int> = 20...50
    /// Replicas: worker process counts to compare. Default [1, 2, 4].
    public var replicaCounts = [1, 2, 4]
    /// Replicas: jobs per replica (each run then lasts about the same time). Default 160.
    public var jobsPerReplica = 160
    /// Replicas: partitions of the jobs topic. Default 8.
    public var replicaPartitions = 8
    /// Gateway: concurrent SSE clients on one gateway. Default 1000.
    public var gatewayClients = 1000
    /// Gateway: jobs the clients follow (client i follows job i mod jobs). Default 500.
    public var gatewayJobs = 500
    /// Gateway: deltas per job. Default 40.
    public var gatewayWords = 40
    /// Gateway: chunk events per second the bench produces (each reaches every client of its job). Default 5000.
    public var gatewayRate = 5000
    /// Rate limit: jobs in the backlog each row drains. Default 600.
    public var ratelimitJobs = 600
    /// Rate limit: the stand-in's `--requests-per-second` (the budget rows set
    /// `provider.requests_per_minute` to 60 times this). Default 20.
    public var ratelimitRequestsPerSecond = 20
    /// Rate limit: the stand-in's `--tokens-per-second`, and `provider.tokens_per_minute` (60 times
    /// this) in the budget rows; 0 leaves the token limit off. Default 0.
    public var ratelimitTokensPerSecond = 0
    /// Rate limit: worker process counts to compare. Default [1, 3].
    public var ratelimitReplicaCounts = [1, 3]
    /// Rate limit: `worker.concurrency` of each worker. Default 64.
    public var ratelimitConcurrency = 64
    /// Where `bench.json` and `bench.txt` go; nil writes only to stdout. Default nil.
    public var outputDirectory: String? = nil

    public init() {}

    /// Small sizes for a smoke run (a minute or so).
    public static var quick: BenchOptions {
        var options = BenchOptions()
        options.jobs = 200
        options.rate = 3000
        options.latencyWords = 50
        options.latencyWaves = 2
        options.streams = 500
        options.jobsPerReplica = 16
        options.gatewayClients = 200
        options.gatewayJobs = 100
        options.gatewayWords = 20
        options.ratelimitJobs = 120
        return options
    }
}

/// One benchmark scenario.
public enum BenchScenario: String, Sendable, CaseIterable {
    case ceiling, floor, drain, latency, streams, replicas, gateway, ratelimit
}
