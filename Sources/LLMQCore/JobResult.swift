import Foundation

/// The final outcome of one processing of a job, published to the results topic keyed by job id.
public struct JobResult: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case succeeded, failed, invalid, expired, cancelled
    }

    public struct Usage: Sendable, Hashable, Codable {
        public var promptTokens: Int
        public var completionTokens: Int
        public var totalTokens: Int
        public init(promptTokens: Int, completionTokens: Int, totalTokens: Int) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.totalTokens = totalTokens
        }
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        }

        /// `total_tokens` may be missing (as in DESIGN.md's example): it is then the sum.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            promptTokens = try c.decode(Int.self, forKey: .promptTokens)
            completionTokens = try c.decode(Int.self, forKey: .completionTokens)
            totalTokens = try c.decodeIfPresent(Int.self, forKey: .totalTokens) ?? promptTokens + completionTokens
        }

        /// Sums usage across attempts.
        public static func + (lhs: Usage, rhs: Usage) -> Usage {
            Usage(
                promptTokens: lhs.promptTokens + rhs.promptTokens,
                completionTokens: lhs.completionTokens + rhs.completionTokens,
                totalTokens: lhs.totalTokens + rhs.totalTokens
            )
        }
    }

    public struct Timing: Sendable, Hashable, Codable {
        /// From the job message's timestamp to the start of processing.
        public var queuedMs: Int?
        /// From the start of processing to the first delta.
        public var firstChunkMs: Int?
        /// From the start of processing to the result.
        public var totalMs: Int
        public init(queuedMs: Int?, firstChunkMs: Int?, totalMs: Int) {
            self.queuedMs = queuedMs
            self.firstChunkMs = firstChunkMs
            self.totalMs = totalMs
        }
        enum CodingKeys: String, CodingKey { case queuedMs = "queued_ms", firstChunkMs = "first_chunk_ms", totalMs = "total_ms" }

        /// Absent values are written as null, so every result has the same shape.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(queuedMs, forKey: .queuedMs)
            try c.encode(firstChunkMs, forKey: .firstChunkMs)
            try c.encode(totalMs, forKey: .totalMs)
        }
    }

    public struct ErrorInfo: Sendable, Hashable, Codable {
        public var kind: String
        public var message: String
        public var retryable: Bool
        public var httpStatus: Int?
        public init(kind: String, message: String, retryable: Bool, httpStatus: Int? = nil) {
            self.kind = kind
            self.message = message
            self.retryable = retryable
            self.httpStatus = httpStatus
        }
        enum CodingKeys: String, CodingKey { case kind, message, retryable, httpStatus = "http_status" }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(message, forKey: .message)
            try c.encode(retryable, forKey: .retryable)
            try c.encode(httpStatus, forKey: .httpStatus)
        }
    }

    public struct Source: Sendable, Hashable, Codable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    public var jobID: String?
    public var status: Status
    public var text: String
    public var finishReason: String?
    public var streamID: String?
    /// How many chunk events the stream named by `streamID` has, its `end` included: a consumer
    /// holding fewer of them has a gap. Nil when no stream ended (invalid, failed, expired jobs).
    public var streamEvents: Int?
    /// Provider calls made, throttled ones included.
    public var attempts: Int
    /// Of `attempts`, the calls the provider answered with a rate limit or an exhausted quota: they
    /// are waited out and do not count against `retry.max_attempts`. Present (`throttled_calls`)
    /// only when there were any.
    public var throttledCalls: Int?
    public var model: String?
    public var provider: String?
    public var usage: Usage?
    public var timing: Timing
    public var error: ErrorInfo?
    public var metadata: JSONValue?
    public var source: Source
    /// The id of the worker process that produced this result.
    public var worker: String?
    /// True when the text came from a call made without streaming although the job asked for a
    /// stream (the worker's stream fallback); absent otherwise.
    public var streamFallback: Bool?

    public init(jobID: String?, status: Status, text: String = "", finishReason: String? = nil, streamID: String? = nil,
                streamEvents: Int? = nil, attempts: Int = 0, throttledCalls: Int? = nil, model: String? = nil, provider: String? = nil,
                usage: Usage? = nil, timing: Timing, error: ErrorInfo? = nil, metadata: JSONValue? = nil, source: Source, worker: String? = nil,
                streamFallback: Bool? = nil) {
        self.jobID = jobID
        self.status = status
        self.text = text
        self.finishReason = finishReason
        self.streamID = streamID
        self.streamEvents = streamEvents
        self.attempts = attempts
        self.throttledCalls = throttledCalls.flatMap { $0 > 0 ? $0 : nil }
        self.model = model
        self.provider = provider
        self.usage = usage
        self.timing = timing
        self.error = error
        self.metadata = metadata
        self.source = source
        self.worker = worker
        self.streamFallback = streamFallback
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", status, text, finishReason = "finish_reason", streamID = "stream_id", streamEvents = "stream_events", attempts,
             throttledCalls = "throttled_calls", model,
             provider, usage, timing, error, metadata, source, worker, streamFallback = "stream_fallback"
    }

    /// Encodes every key, with `null` for absent values, as DESIGN.md shows.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(jobID, forKey: .jobID)
        try c.encode(status, forKey: .status)
        try c.encode(text, forKey: .text)
        try c.encode(finishReason, forKey: .finishReason)
        try c.encode(streamID, forKey: .streamID)
        try c.encode(streamEvents, forKey: .streamEvents)
        try c.encode(attempts, forKey: .attempts)
        try c.encodeIfPresent(throttledCalls, forKey: .throttledCalls)
        try c.encode(model, forKey: .model)
        try c.encode(provider, forKey: .provider)
        try c.encode(usage, forKey: .usage)
        try c.encode(timing, forKey: .timing)
        try c.encode(error, forKey: .error)
        try c.encode(metadata ?? .object([:]), forKey: .metadata)
        try c.encode(source, forKey: .source)
        try c.encodeIfPresent(worker, forKey: .worker)
        // Only when it happened, so ordinary results keep DESIGN.md's shape.
        if streamFallback == true { try c.encode(true, forKey: .streamFallback) }
    }

    /// The JSON value: every key in sorted order, `null` for absent values, byte for byte what
    /// `JSONEncoder` (`.sortedKeys`, `.withoutEscapingSlashes`) makes of `encode(to:)` (tested).
    /// Written by hand because a result is published per job: `JSONEncoder` was ~5 % of the worker's
    /// CPU in the drain benchmark (issue 11). Only `metadata`, the job's own JSON, still goes
    /// through `JSONEncoder`. Throws when a value has no JSON form (a non-finite number in `metadata`).
    public func encoded() throws -> [UInt8] {
        var writer = JSONWriter(capacity: 384 + text.utf8.count)
        writer.beginObject()
        writer.int("attempts", attempts)
        writer.optionalObject("error", error) { writer, error in
            writer.optionalInt("http_status", error.httpStatus)
            writer.string("kind", error.kind)
            writer.string("message", error.message)
            writer.bool("retryable", error.retryable)
        }
        writer.optionalString("finish_reason", finishReason)
        writer.optionalString("job_id", jobID)
        writer.key("metadata")
        if let metadata, metadata != .object([:]) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            writer.rawJSON(try encoder.encode(metadata))
        } else {
            writer.rawJSON("{}")
        }
        writer.optionalString("model", model)
        writer.optionalString("provider", provider)
        writer.optionalObject("source", source) { writer, source in
            writer.int("offset", source.offset)
            writer.int("partition", source.partition)
            writer.string("topic", source.topic)
        }
        writer.string("status", status.rawValue)
        writer.optionalInt("stream_events", streamEvents)
        if streamFallback == true { writer.bool("stream_fallback", true) }
        writer.optionalString("stream_id", streamID)
        writer.string("text", text)
        if let throttledCalls { writer.int("throttled_calls", throttledCalls) }
        writer.optionalObject("timing", timing) { writer, timing in
            writer.optionalInt("first_chunk_ms", timing.firstChunkMs)
            writer.optionalInt("queued_ms", timing.queuedMs)
            writer.int("total_ms", timing.totalMs)
        }
        writer.optionalObject("usage", usage) { writer, usage in
            writer.int("completion_tokens", usage.completionTokens)
            writer.int("prompt_tokens", usage.promptTokens)
            writer.int("total_tokens", usage.totalTokens)
        }
        if let worker { writer.string("worker", worker) }
        writer.endObject()
        return writer.bytes
    }

    /// The bytes to publish, never empty: the result as it is or, when it cannot be encoded, the
    /// same result with its echoed `metadata` replaced by a note saying why it was dropped.
    public func encodedForDelivery() -> [UInt8] {
        if let bytes = try? encoded() { return bytes }
        var fallback = self
        fallback.metadata = .object(["llmq_error": .string("metadata could not be encoded as JSON and was dropped")])
        if let bytes = try? fallback.encoded() { return bytes }
        // Only the metadata can hold a value without a JSON form; this is a last resort.
        var writer = JSONWriter(capacity: 128)
        writer.beginObject()
        if let jobID { writer.string("job_id", jobID) }
        writer.string("status", status.rawValue)
        writer.string("llmq_error", "result could not be encoded as JSON")
        writer.endObject()
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> JobResult? {
        // (stream_events is optional, so results written before it existed still decode.)
        try? JSONDecoder().decode(JobResult.self, from: Data(bytes))
    }
}
