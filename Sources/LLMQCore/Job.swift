import Foundation

/// One chat message of a job.
public struct JobMessage: Sendable, Hashable {
    /// "system", "user" or "assistant".
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Generation parameters a job may set; `nil` means the provider's default, and nil fields are not sent.
public struct JobParams: Sendable, Hashable {
    /// Maximum number of tokens to generate. Default: nil.
    public var maxTokens: Int?
    /// Sampling temperature. Default: nil.
    public var temperature: Double?
    /// Nucleus sampling. Default: nil.
    public var topP: Double?
    /// Stop sequences. Default: nil.
    public var stop: [String]?
    public init(maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, stop: [String]? = nil) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.stop = stop
    }
}

/// A validated prompt job, as read from the jobs topic.
public struct Job: Sendable, Hashable {
    public var id: String
    public var messages: [JobMessage]
    public var model: String?
    public var params: JobParams
    /// `false` asks for one non-streaming call (one `delta` with the whole text). Default `true`.
    public var stream: Bool
    public var deadline: Date?
    public var metadata: JSONValue?

    public init(id: String, messages: [JobMessage], model: String? = nil, params: JobParams = JobParams(),
                stream: Bool = true, deadline: Date? = nil, metadata: JSONValue? = nil) {
        self.id = id
        self.messages = messages
        self.model = model
        self.params = params
        self.stream = stream
        self.deadline = deadline
        self.metadata = metadata
    }
}

/// Why a job could not be accepted. Becomes an `invalid` result and a dead letter.
public struct JobValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable kind, used as `error.kind` and as a metric label.
    public var kind: String
    public var message: String
    /// The job's id when it could be read.
    public var jobID: String?

    public init(kind: String, message: String, jobID: String? = nil) {
        self.kind = kind
        self.message = message
        self.jobID = jobID
    }

    public var description: String { "\(kind): \(message)" }
}
