import Foundation
import LLMQCore
import LLMQKafka
import LLMQProviders
import Logging
import Synchronization

/// Takes one job message to its end: validation, provider calls with retries (one chunk stream per
/// call), then the result (and a dead-letter copy for failed and invalid jobs), acknowledged by the broker.
public final class JobRunner: Sendable {
    let configuration: WorkerConfiguration
    let publisher: Publisher
    let provider: any Provider
    let metrics: WorkerMetrics
    let workerID: String
    let logger: Logger
    let retryRunner: RetryRunner
    /// When this replica may call the provider (budgets, adaptive concurrency, pauses, quota).
    let governor: ProviderGovernor
    /// How many calls are being set up at once (`provider.max_starting_calls`).
    let startWindow: CallStartWindow
    private let parser: JobParser
    private let streamCounter = Atomic<UInt64>(0)
    /// Prefix of this process's stream ids. A configured `worker.id` survives restarts, so a random
    /// token per process start keeps stream ids unique across restarts and redeliveries.
    private let streamPrefix: String

    init(configuration: WorkerConfiguration, publisher: Publisher, provider: any Provider, governor: ProviderGovernor,
         workerID: String, logger: Logger, retryRunner: RetryRunner? = nil) {
        self.governor = governor
        self.startWindow = CallStartWindow(width: configuration.providerMaxStartingCalls)
        self.configuration = configuration
        self.publisher = publisher
        self.provider = provider
        self.metrics = publisher.metrics
        self.workerID = workerID
        self.logger = logger
        self.retryRunner = retryRunner ?? RetryRunner(policy: configuration.retry)
        parser = JobParser(maxJobBytes: configuration.maxJobBytes)
        streamPrefix = configuration.workerID == nil ? workerID : "\(workerID).\(Worker.randomToken(length: 4))"
    }

    /// Processes the job. Returns once its result is acknowledged by the broker.
    /// Throws `CancellationError` when cancelled before its result was acknowledged (the job will
    /// be redelivered), or `ResultDeliveryError` when the broker refused the result for good.
    ///
    /// Memory: a job's async frames stay allocated on its task for the whole call, so this function
    /// and `attempt` only hold what the streaming phase needs; the work before and after it lives in
    /// `@inline(never)` steps whose frames exist only while they run (issue 11: 7 + 5 KiB per open
    /// stream before the split).
    func process(_ message: ConsumerMessage, control: JobControl = .none) async throws {
        let arrival = Arrival(message)
        var logger = JobLog(self.logger, partition: message.partition, offset: message.offset)

        let job: Job
        switch parser.parse(message.value) {
        case .failure(let invalid):
            try await rejectInvalid(invalid, message: message, arrival: arrival, logger: logger)
            return
        case .success(let parsed):
            job = parsed
        }
        logger.jobID = job.id
        if control.identify(job.id) {
            try await cancelBeforeStart(job, message: message, arrival: arrival, logger: logger)
            return
        }
        let ending = try await runAttempts(job, message: message, arrival: arrival, control: control, logger: logger)
        try await finish(job, ending, message: message, arrival: arrival, logger: logger)
    }

    /// A message that is not a valid job: an `invalid` result plus a dead-letter copy.
    @inline(never)
    private func rejectInvalid(_ invalid: JobValidationError, message: ConsumerMessage, arrival: Arrival, logger: JobLog) async throws {
        var logger = logger
        logger.jobID = invalid.jobID
        logger.warning("invalid job", metadata: [LogKeys.errorKind: "\(invalid.kind)", LogKeys.error: "\(invalid.message)"])
        let result = JobResult(
            jobID: invalid.jobID, status: .invalid, timing: .init(queuedMs: arrival.queuedMs, firstChunkMs: nil, totalMs: arrival.elapsedMs),
            error: .init(kind: invalid.kind, message: invalid.message, retryable: false), source: arrival.source, worker: workerID)
        try await publishFinal(result, for: message, deadLetter: true, logger: logger)
    }

    /// Cancelled before any worker took it: the result says so, no provider call is made.
    @inline(never)
    private func cancelBeforeStart(_ job: Job, message: ConsumerMessage, arrival: Arrival, logger: JobLog) async throws {
        logger.info("job cancelled before it started")
        let result = JobResult(
            jobID: job.id, status: .cancelled, model: job.model ?? configuration.providerModel, provider: provider.name,
            timing: .init(queuedMs: arrival.queuedMs, firstChunkMs: nil, totalMs: arrival.elapsedMs),
            error: Self.cancelledError, metadata: job.metadata, source: arrival.source, worker: workerID)
        try await publishFinal(result, for: message, deadLetter: false, logger: logger)
    }

    /// How the job's attempts ended: the result's status, error and what the attempts produced.
    struct AttemptsEnding {
        var status: JobResult.Status
        var error: JobResult.ErrorInfo?
        var outcome: JobOutcome
    }

    /// The provider calls with retries. Throws `CancellationError` only when the job was cancelled
    /// by a revoke or a shutdown (no result: it is redelivered); every other end is an `AttemptsEnding`.
    @inline(never)
    private func runAttempts(_ job: Job, message: ConsumerMessage, arrival: Arrival, control: JobControl,
                             logger: JobLog) async throws -> AttemptsEnding {
        var outcome = JobOutcome()
        let started = arrival.started
        let budget = RetryBudget(start: started, total: configuration.timeouts.total, deadline: job.deadline)
        do {
            if let deadline = job.deadline, deadline <= Date() { throw DeadlineExceeded() }
            let completion = try await retryRunner.run(within: budget.limit, { attempt in
                try await self.attempt(job, number: attempt, message: message, outcome: &outcome, started: started,
                                       budget: budget, logger: logger)
            }, onRetry: { attempt, error, delay in
                if RetryPolicy.isThrottle(error) { outcome.throttledCalls += 1 }
                self.metrics.retry(kind: error.code.rawValue)
                logger.info("retrying", metadata: [LogKeys.attempt: "\(attempt)", LogKeys.errorKind: "\(error.code)",
                                                   "delay_ms": "\(delay.wholeMilliseconds)"])
            })
            outcome.finishReason = completion.finishReason
            outcome.model = completion.model ?? outcome.model
            return AttemptsEnding(status: .succeeded, outcome: outcome)
        } catch {
            return try ending(after: error, outcome: outcome, budget: budget, control: control, logger: logger)
        }
    }

    /// How the attempts ended when the last one threw. Synchronous on purpose: its locals live on
    /// the thread's stack, not in the job's async frame.
    private func ending(after error: any Error, outcome: JobOutcome, budget: RetryBudget, control: JobControl,
                        logger: JobLog) throws -> AttemptsEnding {
        if Task.isCancelled {
            // A cancel request ends the job with a `cancelled` result; a revoke or shutdown leaves
            // it without one, to be redelivered.
            guard control.cancelledByRequest() else {
                logger.info("job cancelled; it will be redelivered")
                throw CancellationError()
            }
            logger.info("job cancelled by request")
            return AttemptsEnding(status: .cancelled, error: Self.cancelledError, outcome: outcome)
        }
        switch error {
        case is DeadlineExceeded:
            return AttemptsEnding(status: .expired, error: .init(kind: "deadline_exceeded", message: "the job's deadline passed", retryable: false),
                                  outcome: outcome)
        case let error as ProviderError where budget.deadlineBinds && retryRunner.policy.allowsRetry(
                afterAttempt: outcome.countedAttempts, failure: error, remaining: nil):
            // A retry was due but the job's deadline came first: the job expired, it did not fail.
            return AttemptsEnding(status: .expired, error: .init(kind: "deadline_exceeded", message: "the job's deadline passed before a retry could start (\(error.code))", retryable: false),
                                  outcome: outcome)
        case let error as ProviderError:
            return AttemptsEnding(status: .failed, error: .init(kind: error.code.rawValue, message: error.message, retryable: error.isRetryable, httpStatus: error.httpStatus),
                                  outcome: outcome)
        case let error as KafkaError:
            return AttemptsEnding(status: .failed, error: .init(kind: "kafka_\(error.code.rawValue)", message: error.message, retryable: true),
                                  outcome: outcome)
        default:
            throw error
        }
    }

    /// The job's result after its attempts (and a dead-letter copy when it failed).
    @inline(never)
    private func finish(_ job: Job, _ ending: AttemptsEnding, message: ConsumerMessage, arrival: Arrival, logger: JobLog) async throws {
        let status = ending.status
        let outcome = ending.outcome
        let result = JobResult(
            jobID: job.id, status: status, text: status == .succeeded ? outcome.text : "",
            finishReason: outcome.finishReason, streamID: outcome.streamID,
            streamEvents: status == .succeeded ? outcome.streamEvents : nil, attempts: outcome.attempts,
            throttledCalls: outcome.throttledCalls,
            model: outcome.model ?? job.model ?? configuration.providerModel, provider: outcome.provider ?? provider.name,
            usage: outcome.usage,
            timing: .init(queuedMs: arrival.queuedMs, firstChunkMs: outcome.firstChunkMs, totalMs: arrival.elapsedMs),
            error: ending.error, metadata: job.metadata, source: arrival.source, worker: workerID,
            streamFallback: status == .succeeded && outcome.streamFallback ? true : nil)
        if status != .succeeded {
            logger.warning("job \(status.rawValue)", metadata: [LogKeys.errorKind: "\(ending.error?.kind ?? "")", LogKeys.error: "\(ending.error?.message ?? "")"])
        }
        try await publishFinal(result, for: message, deadLetter: status == .failed, logger: logger)
        if let firstChunkMs = outcome.firstChunkMs { metrics.firstChunk.recordMilliseconds(firstChunkMs) }
    }

    /// One provider call as one chunk stream, which ends exactly once: `end` after its deltas are
    /// acknowledged, or `abort` when the call or a delivery failed.
    private func attempt(_ job: Job, number: Int, message: ConsumerMessage, outcome: inout JobOutcome,
                         started: ContinuousClock.Instant, budget: RetryBudget, logger: JobLog) async throws -> ProviderCompletion {
        var logger = logger
        let streamID = "\(streamPrefix)-\(message.partition)-\(message.offset)-\(streamCounter.add(1, ordering: .relaxed).newValue)"
        logger.attempt = number
        logger.streamID = streamID
        outcome.startAttempt(number, streamID: streamID)
        let counted = outcome.countedAttempts
        var stream = ChunkStream(publisher: publisher, topic: configuration.chunksTopic, key: Array(job.id.utf8), jobID: job.id,
                                 streamID: streamID, attempt: number)
        var request = ProviderRequest(
            messages: job.messages,
            model: job.model ?? configuration.providerModel,
            params: job.params,
            stream: job.stream,
            attempt: counted)
        // Before the stream starts: a call that never gets budget leaves no stream behind.
        let permit = try await governor.acquire(tokens: ProviderGovernor.estimatedTokens(request), within: budget.remaining)
        // Then its turn to set up a connection; the slot goes back once the request is sent (or
        // the head came, or the call ended).
        let slot = try await enterStartWindow(releasingOnFailure: permit)
        defer { slot.release() }
        let governor = self.governor
        request.onRequestSent = { slot.release() }
        request.onResponseHead = { head in
            slot.release()
            governor.observe(head)
        }
        let call: ProviderCall
        do {
            call = try await callProvider(request, timeouts: callTimeouts(job), stream: &stream)
        } catch {
            throw await failAttempt(error, job: job, stream: &stream, permit: permit, countedAttempts: counted,
                                    outcome: &outcome, budget: budget, logger: logger)
        }
        outcome.text = call.text
        if let firstChunk = call.firstChunk { outcome.firstChunkMs = Int((firstChunk - started).wholeMilliseconds) }
        if let usage = call.completion.usage { outcome.addUsage(usage) }
        outcome.provider = call.completion.provider
        outcome.streamFallback = call.completion.streamFallback
        governor.finished(permit, .succeeded(usedTokens: call.completion.usage?.totalTokens,
                                             firstChunk: call.firstChunk.map { $0 - call.started }))
        try await endStream(&stream, call.completion, countedAttempts: counted, budget: budget, outcome: &outcome, logger: logger)
        return call.completion
    }

    /// The configured limits, with the job's deadline capping the whole call (reaching it makes
    /// the job `expired`, not `failed`).
    private func callTimeouts(_ job: Job) -> Timeouts {
        var timeouts = configuration.timeouts
        if let deadline = job.deadline {
            timeouts.total = min(timeouts.total, .milliseconds(max(1, Int(deadline.timeIntervalSinceNow * 1000))))
        }
        return timeouts
    }

    @inline(never)
    private func enterStartWindow(releasingOnFailure permit: ProviderGovernor.Permit) async throws -> CallStartWindow.Slot {
        do {
            return try await startWindow.enter()
        } catch {
            governor.finished(permit, .other)
            throw ProviderError(code: .cancelled, message: "cancelled while waiting to start the call")
        }
    }

    /// What a successful provider call produced.
    struct ProviderCall {
        var completion: ProviderCompletion
        var text: String
        var started: ContinuousClock.Instant
        var firstChunk: ContinuousClock.Instant?
    }

    /// The streaming phase: `start`, then a chunk event per delta as the provider sends them.
    @inline(never)
    private func callProvider(_ request: ProviderRequest, timeouts: Timeouts, stream: inout ChunkStream) async throws -> ProviderCall {
        let callStarted = ContinuousClock.now
        try await Self.emit(.start, on: &stream)
        let sink = AttemptSink(stream: stream, governor: governor, callStarted: callStarted,
                               coalescer: DeltaCoalescer(minBytes: configuration.chunkCoalesceBytes, maxDelay: configuration.chunkCoalesceDelay))
        // The stream comes back with its numbering and acknowledgements moved on, also on failure.
        defer { stream = sink.stream }
        let completion = try await provider.complete(request, timeouts: timeouts, into: sink)
        if let rest = sink.coalescer.flush() { try await Self.emit(.delta(rest), on: &sink.stream) }
        return ProviderCall(completion: completion, text: sink.text, started: callStarted, firstChunk: sink.firstChunk)
    }

    /// Not inlined: producing's temporaries stay out of `callProvider`'s frame, which lives as
    /// long as the stream.
    @inline(never)
    private static func emit(_ kind: ChunkEvent.Kind, on stream: inout ChunkStream) async throws {
        try await stream.emit(kind)
    }

    /// A failed call: its stream ends with `abort`; returns the error the attempt throws.
    @inline(never)
    private func failAttempt(_ error: any Error, job: Job, stream: inout ChunkStream, permit: ProviderGovernor.Permit,
                             countedAttempts: Int, outcome: inout JobOutcome, budget: RetryBudget, logger: JobLog) async -> any Error {
        governor.finished(permit, ProviderGovernor.CallOutcome(error))
        let providerError = error as? ProviderError
        if let usage = providerError?.partialUsage { outcome.addUsage(usage) }
        outcome.provider = providerError?.provider
        outcome.model = providerError?.model
        // Only this task's cancellation counts: a `.cancelled` from the HTTP client alone is a failure.
        let cancelled = Task.isCancelled
        let expired = !cancelled && job.deadline.map { $0 <= Date() } == true
        let failure = providerError ?? (error as? KafkaError).map { ProviderError.chunkDelivery($0.description) }
        // Whether the runner will retry this failure: the same decision, so `abort` says it truthfully.
        let retrying = !cancelled && !expired && failure.map {
            retryRunner.policy.allowsRetry(afterAttempt: countedAttempts, failure: $0, remaining: budget.remaining)
        } == true
        let reason = cancelled ? "cancelled" : expired ? "deadline exceeded" : (providerError?.code.rawValue ?? "chunk_delivery")
        await stream.abort(reason: reason, retrying: retrying)
        metrics.attempt(outcome: cancelled ? "cancelled" : reason)
        logger.info("attempt ended", metadata: [LogKeys.errorKind: "\(reason)", "retrying": "\(retrying)"])
        if expired { return DeadlineExceeded() }
        if let kafkaError = error as? KafkaError { return ProviderError.chunkDelivery(kafkaError.description) }
        return error
    }

    /// A successful call's stream ends with `end` once its deltas are acknowledged; a chunk the
    /// broker did not take must not hide behind a result, so then the attempt fails.
    @inline(never)
    private func endStream(_ stream: inout ChunkStream, _ completion: ProviderCompletion, countedAttempts: Int,
                           budget: RetryBudget, outcome: inout JobOutcome, logger: JobLog) async throws {
        let retrying = retryRunner.policy.allowsRetry(afterAttempt: countedAttempts, failure: .chunkDelivery(""), remaining: budget.remaining)
        switch await stream.end(finishReason: completion.finishReason, retryingOnFailure: retrying) {
        case .ended:
            outcome.streamEvents = stream.eventCount
            metrics.attempt(outcome: "ok")
        case .deliveryFailed(let error):
            metrics.attempt(outcome: "chunk_delivery")
            logger.info("attempt ended", metadata: [LogKeys.errorKind: "chunk_delivery"])
            throw ProviderError.chunkDelivery(error.description)
        }
    }

    /// Publishes the result (and the dead-letter copy) and returns once the broker has acknowledged
    /// both. Only a message whose delivery failed is produced again; a permanent refusal throws.
    private func publishFinal(_ result: JobResult, for message: ConsumerMessage, deadLetter: Bool, logger: JobLog) async throws {
        var outgoing = [OutgoingMessage(topic: configuration.resultsTopic, key: result.jobID.map { Array($0.utf8) } ?? message.key,
                                        value: result.encodedForDelivery())]
        if deadLetter {
            var headers = [
                KafkaHeader(key: DeadLetterHeaders.status, string: result.status.rawValue),
                KafkaHeader(key: DeadLetterHeaders.errorKind, string: result.error?.kind ?? ""),
                KafkaHeader(key: DeadLetterHeaders.errorMessage, string: result.error?.message ?? ""),
                KafkaHeader(key: DeadLetterHeaders.attempts, string: "\(result.attempts)"),
                KafkaHeader(key: DeadLetterHeaders.sourceTopic, string: message.topic),
                KafkaHeader(key: DeadLetterHeaders.sourcePartition, string: "\(message.partition)"),
                KafkaHeader(key: DeadLetterHeaders.sourceOffset, string: "\(message.offset)"),
            ]
            if let id = result.jobID { headers.append(KafkaHeader(key: DeadLetterHeaders.jobID, string: id)) }
            // The job's own bytes, key and headers, untouched, plus ours.
            outgoing.append(OutgoingMessage(topic: configuration.deadLetterTopic, key: message.key, value: message.value,
                                            headers: message.headers + headers))
        }
        do {
            try await publisher.deliver(outgoing)
        } catch let error as KafkaError {
            logger.critical("result refused by the broker", metadata: [LogKeys.error: "\(error.message)"])
            throw ResultDeliveryError(underlying: error)
        }
        metrics.job(status: result.status.rawValue)
        metrics.jobDuration.recordMilliseconds(result.timing.totalMs)
    }

    static let cancelledError = JobResult.ErrorInfo(kind: "cancelled", message: "cancelled by request", retryable: false)

}

/// What the worker tells a job about cancel requests (`topic.control`).
struct JobControl: Sendable {
    /// Registers the job's id once parsed; true when a cancel for it already arrived.
    var identify: @Sendable (String) -> Bool
    /// True once the job's task was cancelled by a cancel request (not by a revoke or a shutdown).
    var cancelledByRequest: @Sendable () -> Bool

    static let none = JobControl(identify: { _ in false }, cancelledByRequest: { false })
}

/// How long a job's retries may go on: no retry starts later than `timeout.total_ms` after the
/// job's processing began, nor past its deadline.
struct RetryBudget {
    let start: ContinuousClock.Instant
    let total: Duration
    let deadline: Date?

    /// From `start`: the earlier of `total` and the time to the deadline.
    var limit: Duration {
        guard let deadline else { return total }
        let untilDeadline = Duration.milliseconds(max(0, Int64(deadline.timeIntervalSince(Date()) * 1000))) + (ContinuousClock.now - start)
        return min(total, untilDeadline)
    }
    /// True when the deadline, not `total`, is the limit.
    var deadlineBinds: Bool { limit < total }
    /// What is left of the budget now.
    var remaining: Duration { max(.zero, limit - (ContinuousClock.now - start)) }
}

/// One call's deltas on their way into its chunk stream.
///
/// The provider offers them in order from the thread that reads its response (an event loop for
/// a streaming call) and never after `complete` returned; the job's task reads the state only
/// after that. Access is therefore never concurrent, which is what `@unchecked Sendable` rests on.
final class AttemptSink: DeltaSink, @unchecked Sendable {
    var stream: ChunkStream
    var coalescer: DeltaCoalescer
    private(set) var text = ""
    private(set) var firstChunk: ContinuousClock.Instant?
    private let governor: ProviderGovernor
    private let callStarted: ContinuousClock.Instant

    init(stream: ChunkStream, governor: ProviderGovernor, callStarted: ContinuousClock.Instant, coalescer: DeltaCoalescer) {
        self.stream = stream
        self.governor = governor
        self.callStarted = callStarted
        self.coalescer = coalescer
    }

    func offer(_ delta: String) throws -> DeltaBackpressure? {
        if firstChunk == nil {
            let now = ContinuousClock.now
            firstChunk = now
            governor.firstChunkArrived(after: now - callStarted)
        }
        text += delta
        guard let merged = coalescer.add(delta) else { return nil }
        return try stream.offer(.delta(merged))
    }
}

/// When and where a job message arrived, for its result.
struct Arrival {
    let started = ContinuousClock.now
    /// Milliseconds from the message's timestamp to now, when it has one.
    let queuedMs: Int?
    let source: JobResult.Source

    init(_ message: ConsumerMessage) {
        let nowMs = Int(Date().timeIntervalSince1970 * 1000)
        queuedMs = message.timestampMs.map { max(0, nowMs - Int($0)) }
        source = JobResult.Source(topic: message.topic, partition: message.partition, offset: message.offset)
    }

    var elapsedMs: Int { Int((.now - started).wholeMilliseconds) }
}

/// What one job's attempts produced so far.
struct JobOutcome {
    /// Provider calls made (each one stream).
    var attempts = 0
    /// Calls the provider throttled (429, exhausted quota): they do not count against `retry.max_attempts`.
    var throttledCalls = 0
    /// Attempts counted against `retry.max_attempts` so far.
    var countedAttempts: Int { attempts - throttledCalls }
    var streamID: String?
    /// Events of the stream that ended with `end` (nil until one did).
    var streamEvents: Int?
    var text = ""
    var finishReason: String?
    var model: String?
    /// The provider that served the last attempt when a decorator chose it (`FallbackProvider`).
    var provider: String?
    /// The last attempt was made without streaming although the job asked for a stream.
    var streamFallback = false
    var usage: JobResult.Usage?
    var firstChunkMs: Int?

    /// A new call begins: what the previous one left behind is cleared.
    mutating func startAttempt(_ number: Int, streamID: String) {
        attempts = number
        self.streamID = streamID
        streamEvents = nil
        text = ""
        // Provider fallbacks (issue 12): what served this attempt, when a decorator chose it.
        provider = nil
        model = nil
        streamFallback = false
    }

    /// Usage is summed over attempts, also failed and cut-off ones.
    mutating func addUsage(_ more: JobResult.Usage) { usage = usage.map { $0 + more } ?? more }
}

/// The job's deadline passed before or during the call.
struct DeadlineExceeded: Error {}

/// A result (or dead letter) that the broker refused for good (an unknown or forbidden topic, a
/// message too large): the offset must not move past this job, and the worker stops.
public struct ResultDeliveryError: Error, CustomStringConvertible {
    public var underlying: KafkaError
    public var description: String { "result could not be delivered: \(underlying)" }
}


extension ProviderError {
    /// Chunk events of an attempt were not acknowledged: retry the call as a new stream.
    static func chunkDelivery(_ message: String) -> ProviderError {
        ProviderError(code: .init("chunk_delivery"), message: message, isRetryable: true)
    }
}

/// A job's log lines, tagged with where the job came from and which attempt is running. The
/// metadata is built only when a line is logged at an enabled level: an open stream should not
/// hold dictionaries for lines that are never written (issue 11: two per job before).
struct JobLog {
    let logger: Logger
    let partition: Int32
    let offset: Int64
    var jobID: String?
    var attempt: Int?
    var streamID: String?

    init(_ logger: Logger, partition: Int32, offset: Int64) {
        self.logger = logger
        self.partition = partition
        self.offset = offset
    }

    func info(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        logger.info(message(), metadata: self.metadata(adding: metadata()))
    }

    func warning(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        logger.warning(message(), metadata: self.metadata(adding: metadata()))
    }

    func critical(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        logger.critical(message(), metadata: self.metadata(adding: metadata()))
    }

    private func metadata(adding extra: Logger.Metadata) -> Logger.Metadata {
        var metadata = extra
        metadata[LogKeys.partition] = "\(partition)"
        metadata[LogKeys.offset] = "\(offset)"
        if let jobID { metadata[LogKeys.jobID] = "\(jobID)" }
        if let attempt { metadata[LogKeys.attempt] = "\(attempt)" }
        if let streamID { metadata[LogKeys.streamID] = "\(streamID)" }
        return metadata
    }
}
