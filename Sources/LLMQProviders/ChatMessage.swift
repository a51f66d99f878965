/// One message of a chat conversation, as both OpenAI and ERNIE take it.
public struct ChatMessage: Sendable, Hashable, Codable {
    /// "system", "user" or "assistant".
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
