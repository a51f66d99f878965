import Foundation
import LLMQCore

/// An OpenAI `POST /v1/chat/completions` request, mapped onto a job.
///
/// Mapped: `messages` (string content, or text parts joined; `developer` is `system`), `model`,
/// `max_tokens` / `max_completion_tokens`, `temperature`, `top_p`, `stop`, `stream`,
/// `stream_options.include_usage`, `metadata` (echoed in the job's metadata). Refused with 400:
/// `n` other than 1, `tools`/`functions`, tool messages, non-text content parts, a
/// `response_format` other than text. Ignored: sampling extras the job format does not carry
/// (`presence_penalty`, `frequency_penalty`, `logit_bias`, `seed`, `user`, `logprobs`, ...).
/// llmq's own: `"llmq": {"keep": true}` (or the header `X-LLMQ-Keep: true`) keeps the job
/// running when the client disconnects.
struct ChatCompletionRequest: Sendable {
    var messages: [JobMessage]
    var model: String?
    var params: JobParams
    var stream: Bool
    var includeUsage: Bool
    var keep: Bool
    var metadata: [String: JSONValue]

    struct Invalid: Error, Sendable {
        var message: String
        var param: String?
    }

    init(json bytes: [UInt8]) throws(Invalid) {
        guard let root = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), case .object(let object) = root else {
            throw Invalid(message: "the body must be a JSON object")
        }
        guard case .array(let items)? = object["messages"], !items.isEmpty else {
            throw Invalid(message: "messages must be a non-empty array", param: "messages")
        }
        var messages: [JobMessage] = []
        for (index, item) in items.enumerated() {
            guard case .object(let message) = item, case .string(var role)? = message["role"] else {
                throw Invalid(message: "messages[\(index)] must have a role", param: "messages")
            }
            if role == "developer" { role = "system" }
            guard JobParser.roles.contains(role) else {
                throw Invalid(message: "messages[\(index)].role \(role) is not supported (system, developer, user, assistant)", param: "messages")
            }
            let content: String
            switch message["content"] {
            case .string(let text)?: content = text
            case .null?, nil: content = ""
            case .array(let parts)?:
                var text = ""
                for part in parts {
                    guard case .object(let p) = part, case .string("text")? = p["type"], case .string(let piece)? = p["text"] else {
                        throw Invalid(message: "messages[\(index)].content: only text parts are supported", param: "messages")
                    }
                    text += piece
                }
                content = text
            default: throw Invalid(message: "messages[\(index)].content must be a string or text parts", param: "messages")
            }
            messages.append(JobMessage(role: role, content: content))
        }
        self.messages = messages
        switch object["model"] {
        case .string(let model)? where !model.isEmpty: self.model = model
        case nil, .null?, .string?: self.model = nil
        default: throw Invalid(message: "model must be a string", param: "model")
        }
        if case .number(let n)? = object["n"], n != 1 { throw Invalid(message: "n must be 1", param: "n") }
        for key in ["tools", "functions"] where object[key] != nil && object[key] != .null {
            throw Invalid(message: "\(key) are not supported by llmq", param: key)
        }
        if case .object(let format)? = object["response_format"], format["type"] != .string("text") {
            throw Invalid(message: "response_format: only text is supported", param: "response_format")
        }
        var params = JobParams()
        if case .number(let n)? = object["max_completion_tokens"] ?? object["max_tokens"] {
            guard n >= 1, n <= 1_000_000, n.rounded() == n else { throw Invalid(message: "max_tokens must be an integer from 1 to 1000000", param: "max_tokens") }
            params.maxTokens = Int(n)
        }
        if case .number(let n)? = object["temperature"] {
            guard (0...2).contains(n) else { throw Invalid(message: "temperature must be from 0 to 2", param: "temperature") }
            params.temperature = n
        }
        if case .number(let n)? = object["top_p"] {
            guard n > 0, n <= 1 else { throw Invalid(message: "top_p must be in (0, 1]", param: "top_p") }
            params.topP = n
        }
        switch object["stop"] {
        case .string(let s)?: params.stop = [s]
        case .array(let items)?:
            let stops = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            guard stops.count == items.count, stops.count <= 4 else { throw Invalid(message: "stop must be a string or up to 4 strings", param: "stop") }
            params.stop = stops
        default: break
        }
        self.params = params
        stream = object["stream"] == .bool(true)
        if case .object(let options)? = object["stream_options"], options["include_usage"] == .bool(true) { includeUsage = true } else { includeUsage = false }
        if case .object(let llmq)? = object["llmq"], llmq["keep"] == .bool(true) { keep = true } else { keep = false }
        if case .object(let metadata)? = object["metadata"] { self.metadata = metadata } else { metadata = [:] }
    }

    /// The job's JSON (always streamed by the worker, so the chunk topic shows it live).
    func jobJSON(id: String) -> [UInt8] {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "messages": .array(messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
            "stream": .bool(true),
            "metadata": .object(metadata.merging(["llmq_source": .string("chat.completions")]) { a, _ in a }),
        ]
        if let model { object["model"] = .string(model) }
        var p: [String: JSONValue] = [:]
        if let v = params.maxTokens { p["max_tokens"] = .number(Double(v)) }
        if let v = params.temperature { p["temperature"] = .number(v) }
        if let v = params.topP { p["top_p"] = .number(v) }
        if let v = params.stop { p["stop"] = .array(v.map { .string($0) }) }
        if !p.isEmpty { object["params"] = .object(p) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and booleans from a decoded request: always encodable.
        return (try? Array(encoder.encode(JSONValue.object(object)))) ?? []
    }
}
