import LLMQCore

/// Turns one job's hub events into OpenAI `chat.completion.chunk` payloads.
///
/// OpenAI clients cannot take text back, so a retried attempt (a new stream after `reset`) is
/// replayed silently while it repeats what was already sent, and only its continuation is
/// sent; a retry whose text differs from what was sent ends the response with an error. The
/// result ends the response: the finish reason, usage (when asked for) and `[DONE]`, or an error
/// for a job that did not succeed.
struct ChatCompletionStream {
    enum Output: Equatable {
        /// A JSON payload for one `data:` line.
        case data([UInt8])
        /// `data: [DONE]`; the response ends.
        case done
        /// An error payload; the response ends.
        case failed([UInt8])
    }

    let completionID: String
    let created: Int
    var model: String
    let includeUsage: Bool
    private var sent: [UInt8] = []
    private var current = 0
    private var sentRole = false
    private(set) var finished = false

    init(jobID: String, created: Int, model: String?, includeUsage: Bool) {
        completionID = "chatcmpl-" + jobID
        self.created = created
        self.model = model ?? "llmq"
        self.includeUsage = includeUsage
    }

    mutating func apply(_ event: HubEvent) -> [Output] {
        guard !finished else { return [] }
        switch event.kind {
        case .chunk(let chunk):
            switch chunk.kind {
            case .start:
                current = 0
                guard !sentRole else { return [] }
                sentRole = true
                return [.data(chunkJSON(content: "", role: true, finishReason: nil))]
            case .delta(let piece):
                return extend(with: Array(piece.utf8))
            case .end, .abort:
                return []
            }
        case .result(let result, _):
            finished = true
            guard let result else { return [.failed(ChatCompletionResponse.errorJSON(message: "the job's result could not be read", type: "llmq_error", code: "bad_result"))] }
            guard result.status == .succeeded else {
                let (type, code, message) = ChatCompletionResponse.describe(result)
                return [.failed(ChatCompletionResponse.errorJSON(message: message, type: type, code: code))]
            }
            if let resultModel = result.model { model = resultModel }
            var out: [Output] = []
            if !sentRole { sentRole = true; out.append(.data(chunkJSON(content: "", role: true, finishReason: nil))) }
            // Deltas missed (none on one partition, but the result is the authority): send the rest.
            let text = Array(result.text.utf8)
            if text.count > sent.count, text.starts(with: sent) {
                out.append(.data(chunkJSON(content: String(decoding: text[sent.count...], as: UTF8.self), role: false, finishReason: nil)))
                sent = text
            }
            out.append(.data(chunkJSON(content: nil, role: false, finishReason: result.finishReason ?? "stop")))
            if includeUsage { out.append(.data(usageJSON(result.usage))) }
            out.append(.done)
            return out
        case .queued, .cancelRequested, .heartbeat:
            return []
        }
    }

    private mutating func extend(with piece: [UInt8]) -> [Output] {
        let start = current
        current += piece.count
        if start >= sent.count {
            sent += piece
            return [.data(chunkJSON(content: String(decoding: piece, as: UTF8.self), role: false, finishReason: nil))]
        }
        // Replaying a retried attempt: it must repeat what was sent.
        let overlap = min(piece.count, sent.count - start)
        guard piece[..<overlap].elementsEqual(sent[start..<(start + overlap)]) else {
            finished = true
            return [.failed(ChatCompletionResponse.errorJSON(
                message: "the job was retried and the new attempt's text differs from the text already streamed",
                type: "llmq_error", code: "stream_diverged"))]
        }
        guard overlap < piece.count else { return [] }
        let rest = Array(piece[overlap...])
        sent += rest
        return [.data(chunkJSON(content: String(decoding: rest, as: UTF8.self), role: false, finishReason: nil))]
    }

    private func chunkJSON(content: String?, role: Bool, finishReason: String?) -> [UInt8] {
        var choice = JSONWriter(capacity: 64 + (content?.utf8.count ?? 0))
        choice.beginObject()
        choice.int("index", 0)
        choice.key("delta")
        choice.beginObject()
        if role { choice.string("role", "assistant") }
        if let content { choice.string("content", content) }
        choice.endObject()
        choice.key("logprobs"); choice.rawJSON("null")
        choice.key("finish_reason")
        if let finishReason { choice.string(finishReason) } else { choice.rawJSON("null") }
        choice.endObject()
        var writer = header()
        writer.key("choices")
        writer.rawJSON("[" + String(decoding: choice.bytes, as: UTF8.self) + "]")
        writer.endObject()
        return writer.bytes
    }

    private func usageJSON(_ usage: JobResult.Usage?) -> [UInt8] {
        var writer = header()
        writer.key("choices")
        writer.rawJSON("[]")
        writer.key("usage")
        writer.rawJSON(String(decoding: ChatCompletionResponse.usageJSON(usage), as: UTF8.self))
        writer.endObject()
        return writer.bytes
    }

    private func header() -> JSONWriter {
        var writer = JSONWriter(capacity: 192)
        writer.beginObject()
        writer.string("id", completionID)
        writer.string("object", "chat.completion.chunk")
        writer.int("created", created)
        writer.string("model", model)
        writer.key("system_fingerprint"); writer.rawJSON("null")
        return writer
    }
}

/// The non-streamed `chat.completion` and OpenAI-style errors.
enum ChatCompletionResponse {
    static func completionJSON(jobID: String, created: Int, requestModel: String?, result: JobResult) -> [UInt8] {
        var writer = JSONWriter(capacity: 256 + result.text.utf8.count)
        writer.beginObject()
        writer.string("id", "chatcmpl-" + jobID)
        writer.string("object", "chat.completion")
        writer.int("created", created)
        writer.string("model", result.model ?? requestModel ?? "llmq")
        writer.key("choices")
        var choice = JSONWriter(capacity: 128 + result.text.utf8.count)
        choice.beginObject()
        choice.int("index", 0)
        choice.key("message")
        choice.beginObject()
        choice.string("role", "assistant")
        choice.string("content", result.text)
        choice.key("refusal"); choice.rawJSON("null")
        choice.endObject()
        choice.key("logprobs"); choice.rawJSON("null")
        choice.string("finish_reason", result.finishReason ?? "stop")
        choice.endObject()
        writer.rawJSON("[" + String(decoding: choice.bytes, as: UTF8.self) + "]")
        writer.key("usage")
        writer.rawJSON(String(decoding: usageJSON(result.usage), as: UTF8.self))
        writer.key("system_fingerprint"); writer.rawJSON("null")
        writer.endObject()
        return writer.bytes
    }

    static func usageJSON(_ usage: JobResult.Usage?) -> [UInt8] {
        let usage = usage ?? JobResult.Usage(promptTokens: 0, completionTokens: 0, totalTokens: 0)
        var writer = JSONWriter(capacity: 96)
        writer.beginObject()
        writer.int("prompt_tokens", usage.promptTokens)
        writer.int("completion_tokens", usage.completionTokens)
        writer.int("total_tokens", usage.totalTokens)
        writer.endObject()
        return writer.bytes
    }

    /// `{"error": {"message", "type", "param", "code"}}`, as OpenAI answers.
    static func errorJSON(message: String, type: String, code: String?, param: String? = nil) -> [UInt8] {
        var writer = JSONWriter(capacity: 128 + message.utf8.count)
        writer.beginObject()
        writer.key("error")
        writer.beginObject()
        writer.string("message", message)
        writer.string("type", type)
        writer.key("param")
        if let param { writer.string(param) } else { writer.rawJSON("null") }
        writer.key("code")
        if let code { writer.string(code) } else { writer.rawJSON("null") }
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }

    /// The HTTP status, error type, code and message for a job that did not succeed.
    static func describe(_ result: JobResult) -> (type: String, code: String, message: String) {
        let message = result.error.map { "\($0.kind): \($0.message)" } ?? "the job ended with status \(result.status.rawValue)"
        return ("llmq_job_\(result.status.rawValue)", result.error?.kind ?? result.status.rawValue, message)
    }

    static func httpStatus(for status: JobResult.Status) -> Int {
        switch status {
        case .succeeded: 200
        case .invalid: 400
        case .cancelled: 409
        case .expired: 504
        case .failed: 502
        }
    }
}
