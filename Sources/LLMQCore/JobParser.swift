import Foundation

/// Parses and validates job payloads. Never traps on input: anything unacceptable is a `JobValidationError`.
public struct JobParser: Sendable {
    /// Payloads larger than this are rejected unread. Default 1 MiB.
    public var maxJobBytes: Int
    /// The roles a message may have.
    public static let roles: Set<String> = ["system", "user", "assistant"]

    public init(maxJobBytes: Int = 1 << 20) {
        self.maxJobBytes = maxJobBytes
    }

    public func parse(_ bytes: [UInt8]) -> Result<Job, JobValidationError> {
        guard bytes.count <= maxJobBytes else {
            return .failure(JobValidationError(kind: "too_large", message: "job is \(bytes.count) bytes, over worker.max_job_bytes (\(maxJobBytes))"))
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            return .failure(JobValidationError(kind: "malformed_json", message: "not valid JSON: \(error)"))
        }
        guard case .object(let object) = root else {
            return .failure(JobValidationError(kind: "invalid_job", message: "a job must be a JSON object"))
        }
        var id: String?
        if case .string(let value)? = object["id"], !value.isEmpty, value.utf8.count <= 256 { id = value }
        do {
            guard let id else {
                throw JobValidationError(kind: "missing_id", message: "\"id\" must be a non-empty string of at most 256 bytes")
            }
            return .success(try validate(object, id: id))
        } catch let error as JobValidationError {
            var error = error
            error.jobID = id
            return .failure(error)
        } catch {
            return .failure(JobValidationError(kind: "invalid_job", message: "\(error)", jobID: id))
        }
    }

    private func validate(_ object: [String: JSONValue], id: String) throws -> Job {
        var messages: [JobMessage] = []
        switch (object["messages"], object["prompt"]) {
        case (.array(let items)?, nil):
            guard !items.isEmpty else { throw invalid("messages", "must not be empty") }
            for (index, item) in items.enumerated() {
                guard case .object(let message) = item,
                      case .string(let role)? = message["role"],
                      case .string(let content)? = message["content"] else {
                    throw invalid("messages[\(index)]", "must be {\"role\": string, \"content\": string}")
                }
                guard Self.roles.contains(role) else {
                    throw invalid("messages[\(index)].role", "must be system, user or assistant")
                }
                messages.append(JobMessage(role: role, content: content))
            }
        case (nil, .string(let prompt)?):
            messages = [JobMessage(role: "user", content: prompt)]
        case (nil, nil):
            throw invalid("messages", "a job needs \"messages\" or \"prompt\"")
        case (.some, .some):
            throw invalid("prompt", "give either \"messages\" or \"prompt\", not both")
        case (.some, nil):
            throw invalid("messages", "must be an array of messages")
        case (nil, .some):
            throw invalid("prompt", "must be a string")
        }

        var job = Job(id: id, messages: messages)
        switch object["model"] {
        case nil, .null?: break
        case .string(let model)?: job.model = model
        default: throw invalid("model", "must be a string")
        }
        switch object["stream"] {
        case nil, .null?: break
        case .bool(let stream)?: job.stream = stream
        default: throw invalid("stream", "must be true or false")
        }
        switch object["deadline"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let date = Self.parseDate(text) else { throw invalid("deadline", "must be an RFC 3339 timestamp") }
            job.deadline = date
        default: throw invalid("deadline", "must be an RFC 3339 timestamp string")
        }
        switch object["metadata"] {
        case nil: break
        case .object?, .null?: job.metadata = object["metadata"]
        default: throw invalid("metadata", "must be an object")
        }
        switch object["params"] {
        case nil, .null?: break
        case .object(let params)?: job.params = try validateParams(params)
        default: throw invalid("params", "must be an object")
        }
        return job
    }

    private func validateParams(_ params: [String: JSONValue]) throws -> JobParams {
        var result = JobParams()
        for (key, value) in params {
            switch (key, value) {
            case (_, .null): continue
            case ("max_tokens", .number(let n)):
                guard n >= 1, n <= 1_000_000, n.rounded() == n else { throw invalid("params.max_tokens", "must be an integer from 1 to 1000000") }
                result.maxTokens = Int(n)
            case ("temperature", .number(let n)):
                guard (0...2).contains(n) else { throw invalid("params.temperature", "must be a number from 0 to 2") }
                result.temperature = n
            case ("top_p", .number(let n)):
                guard n > 0, n <= 1 else { throw invalid("params.top_p", "must be a number in (0, 1]") }
                result.topP = n
            case ("stop", .string(let s)):
                result.stop = [s]
            case ("stop", .array(let items)):
                let stops = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
                guard stops.count == items.count, stops.count <= 4 else { throw invalid("params.stop", "must be a string or up to 4 strings") }
                result.stop = stops
            case ("max_tokens", _), ("temperature", _), ("top_p", _), ("stop", _):
                throw invalid("params.\(key)", "has the wrong type")
            default:
                throw invalid("params.\(key)", "is not a known parameter (max_tokens, temperature, top_p, stop)")
            }
        }
        return result
    }

    private func invalid(_ field: String, _ problem: String) -> JobValidationError {
        JobValidationError(kind: "invalid_field", message: "\(field) \(problem)")
    }

    /// RFC 3339 with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
