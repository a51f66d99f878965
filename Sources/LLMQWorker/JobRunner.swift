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
    func process(_ message: ConsumerMessage, control: JobControl = .none) async throws {
        let started = ContinuousClock.now
        let wallStart = Date()
        let queuedMs = message.timestampMs.map { max(0, Int(wallStart.timeIntervalSince1970 * 1000) - Int($0)) }
        let source = JobResult.Source(topic: message.topic, partition: message.partition, offset: message.offset)
        var logger = self.logger
        logger[metadataKey: LogKeys.partition] = "\(message.partition)"
        logger[metadataKey: LogKeys.offset] = "\(message.offset)"

        let job: Job
        switch parser.parse(message.value) {
        case .failure(let invalid):
            if let id = invalid.jobID { logger[metadataKey: LogKeys.jobID] = "\(id)" }
            logger.warning("invalid job", metadata: [LogKeys.errorKind: "\(invalid.kind)", LogKeys.error: "\(invalid.message)"])
            let result = JobResult(
                jobID: invalid.jobID, status: .invalid, timing: .init(queuedMs: queuedMs, firstChunkMs: nil, totalMs: elapsedMs(since: started)),
                error: .init(kind: invalid.kind, message: invalid.message, retryable: false), source: source, worker: workerID)
            try await publishFinal(result, for: message, deadLetter: true, logger: logger)
            return
        case .success(let parsed):
            job = parsed
        }
        logger[metadataKey: LogKeys.jobID] = "\(job.id)"
        if control.identify(job.id) {
            // Cancelled before any worker took it: the result says so, no provider call is made.
            logger.info("job cancelled before it started")
            let result = JobResult(
                jobID: job.id, status: .cancelled, model: job.model ?? configuration.providerModel, provider: provider.name,
                timing: .init(queuedMs: queuedMs, firstChunkMs: nil, totalMs: elapsedMs(since: started)),
                error: Self.cancelledError, metadata: job.metadata, source: source, worker: workerID)
            try await publishFinal(result, for: message, deadLetter: false, logger: logger)
            return
        }

        var outcome = JobOutcome()
        let budget = RetryBudget(start: started, total: configuration.timeouts.total, deadline: job.deadline)
        let status: JobResult.Status
        var errorInfo: JobResult.ErrorInfo?
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
            status = .succeeded
        } catch where Task.isCancelled {
            // A cancel request ends the job with a `cancelled` result; a revoke or shutdown leaves
            // it without one, to be redelivered.
            guard control.cancelledByRequest() else {
                logger.info("job cancelled; it will be redelivered")
                throw CancellationError()
            }
            logger.info("job cancelled by request")
            status = .cancelled
            errorInfo = Self.cancelledError
        } catch is DeadlineExceeded {
            status = .expired
            errorInfo = .init(kind: "deadline_exceeded", message: "the job's deadline passed", retryable: false)
        } catch let error as ProviderError where budget.deadlineBinds && retryRunner.policy.allowsRetry(
                    afterAttempt: outcome.countedAttempts, failure: error, remaining: nil) {
            // A retry was due but the job's deadline came first: the job expired, it did not fail.
            status = .expired
            errorInfo = .init(kind: "deadline_exceeded", message: "the job's deadline passed before a retry could start (\(error.code))", retryable: false)
        } catch let error as ProviderError {
            status = .failed
            errorInfo = .init(kind: error.code.rawValue, message: error.message, retryable: error.isRetryable, httpStatus: error.httpStatus)
        } catch let error as KafkaError {
            status = .failed
            errorInfo = .init(kind: "kafka_\(error.code.rawValue)", message: error.message, retryable: true)
        }

        let result = JobResult(
            jobID: job.id, status: status, text: status == .succeeded ? outcome.text : "",
            finishReason: outcome.finishReason, streamID: outcome.streamID,
            streamEvents: status == .succeeded ? outcome.streamEvents : nil, attempts: outcome.attempts,
            throttledCalls: outcome.throttledCalls,
            model: outcome.model ?? job.model ?? configuration.providerModel, provider: outcome.provider ?? provider.name,
            usage: outcome.usage,
            timing: .init(queuedMs: queuedMs, firstChunkMs: outcome.firstChunkMs, totalMs: elapsedMs(since: started)),
            error: errorInfo, metadata: job.metadata, source: source, worker: workerID,
            streamFallback: status == .succeeded && outcome.streamFallback ? true : nil)
        if status != .succeeded {
            logger.warning("job \(status.rawValue)", metadata: [LogKeys.errorKind: "\(errorInfo?.kind ?? "")", LogKeys.error: "\(errorInfo?.message ?? "")"])
        }
        try await publishFinal(result, for: message, deadLetter: status == .failed, logger: logger)
        if let firstChunkMs = outcome.firstChunkMs { metrics.firstChunk.recordMilliseconds(firstChunkMs) }
    }

    /// One provider call as one chunk stream, which ends exactly once: `end` after its deltas are
    /// acknowledged, or `abort` when the call or a delivery failed.
    private func attempt(_ job: Job, number: Int, message: ConsumerMessage, outcome: inout JobOutcome,
                         started: ContinuousClock.Instant, budget: RetryBudget, logger: Logger) async throws -> ProviderCompletion {
        var logger = logger
        let streamID = "\(streamPrefix)-\(message.partition)-\(message.offset)-\(streamCounter.add(1, ordering: .relaxed).newValue)"
        logger[metadataKey: LogKeys.attempt] = "\(number)"
        logger[metadataKey: LogKeys.streamID] = "\(streamID)"
        outcome.attempts = number
        outcome.streamID = streamID
        outcome.streamEvents = nil
        outcome.text = ""
        // Provider fallbacks (issue 12): what served this attempt, when a decorator chose it.
        outcome.provider = nil
        outcome.model = nil
        outcome.streamFallback = false
        // Whether the runner will retry this failure: the same decision, so `abort` says it truthfully.
        let counted = outcome.countedAttempts
        func willRetry(_ failure: ProviderError) -> Bool {
            retryRunner.policy.allowsRetry(afterAttempt: counted, failure: failure, remaining: budget.remaining)
        }
        var stream = ChunkStream(publisher: publisher, topic: configuration.chunksTopic, key: Array(job.id.utf8), jobID: job.id,
                                 streamID: streamID, attempt: number)
        var timeouts = configuration.timeouts
        if let deadline = job.deadline {
            // The deadline caps the whole call; reaching it makes the job `expired`, not `failed`.
            timeouts.total = min(timeouts.total, .milliseconds(max(1, Int(deadline.timeIntervalSinceNow * 1000))))
        }
        let governor = self.governor
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
        let slot: CallStartWindow.Slot
        do {
            slot = try await startWindow.enter()
        } catch {
            governor.finished(permit, .other)
            throw ProviderError(code: .cancelled, message: "cancelled while waiting to start the call")
        }
        defer { slot.release() }
        request.onRequestSent = { slot.release() }
        request.onResponseHead = { head in
            slot.release()
            governor.observe(head)
        }
        let completion: ProviderCompletion
        var firstChunk: ContinuousClock.Instant?
        let callStarted = ContinuousClock.now
        do {
            try await stream.emit(.start)
            var text = ""
            var coalescer = DeltaCoalescer(minBytes: configuration.chunkCoalesceBytes, maxDelay: configuration.chunkCoalesceDelay)
            completion = try await provider.complete(request, timeouts: timeouts) { delta in
                if firstChunk == nil {
                    let now = ContinuousClock.now
                    firstChunk = now
                    governor.firstChunkArrived(after: now - callStarted)
                }
                text += delta
                if let merged = coalescer.add(delta) { try await stream.emit(.delta(merged)) }
            }
            if let rest = coalescer.flush() { try await stream.emit(.delta(rest)) }
            outcome.text = text
            if let firstChunk { outcome.firstChunkMs = Int((firstChunk - started).wholeMilliseconds) }
            if let usage = completion.usage { outcome.addUsage(usage) }
            outcome.provider = completion.provider
            outcome.streamFallback = completion.streamFallback
            governor.finished(permit, .succeeded(usedTokens: completion.usage?.totalTokens,
                                                 firstChunk: firstChunk.map { $0 - callStarted }))
        } catch {
            governor.finished(permit, ProviderGovernor.CallOutcome(error))
            let providerError = error as? ProviderError
            if let usage = providerError?.partialUsage { outcome.addUsage(usage) }
            outcome.provider = providerError?.provider
            outcome.model = providerError?.model
            // Only this task's cancellation counts: a `.cancelled` from the HTTP client alone is a failure.
            let cancelled = Task.isCancelled
            let expired = !cancelled && job.deadline.map { $0 <= Date() } == true
            let failure = providerError ?? (error as? KafkaError).map { ProviderError.chunkDelivery($0.description) }
            let retrying = !cancelled && !expired && failure.map(willRetry) == true
            let reason = cancelled ? "cancelled" : expired ? "deadline exceeded" : (providerError?.code.rawValue ?? "chunk_delivery")
            await stream.abort(reason: reason, retrying: retrying)
            metrics.attempt(outcome: cancelled ? "cancelled" : reason)
            logger.info("attempt ended", metadata: [LogKeys.errorKind: "\(reason)", "retrying": "\(retrying)"])
            if expired { throw DeadlineExceeded() }
            if let kafkaError = error as? KafkaError { throw ProviderError.chunkDelivery(kafkaError.description) }
            throw error
        }
        switch await stream.end(finishReason: completion.finishReason, retryingOnFailure: willRetry(.chunkDelivery(""))) {
        case .ended:
            outcome.streamEvents = stream.eventCount
            metrics.attempt(outcome: "ok")
            return completion
        case .deliveryFailed(let error):
            // A chunk the broker did not take must not hide behind a result: the attempt fails.
            metrics.attempt(outcome: "chunk_delivery")
            logger.info("attempt ended", metadata: [LogKeys.errorKind: "chunk_delivery"])
            throw ProviderError.chunkDelivery(error.description)
        }
    }

    /// Publishes the result (and the dead-letter copy) and returns once the broker has acknowledged
    /// both. Only a message whose delivery failed is produced again; a permanent refusal throws.
    private func publishFinal(_ result: JobResult, for message: ConsumerMessage, deadLetter: Bool, logger: Logger) async throws {
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

    private func elapsedMs(since start: ContinuousClock.Instant) -> Int { Int((.now - start).wholeMilliseconds) }
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
