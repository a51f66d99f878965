/// A configuration key or value that stops start-up. The message names the key and never echoes
/// the value of a secret key.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Hashable {
    public var key: String
    public var message: String
    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "configuration error: \(key): \(message)" }
}
