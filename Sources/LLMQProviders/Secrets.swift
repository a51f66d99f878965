/// Keeps credentials out of error messages and logs.
///
/// Providers know their secrets (API key, secret key, the current access token) and pass every
/// server-supplied or library-supplied text through `redact` before it can reach an error.
/// URLs that carry `access_token` are never put into messages in the first place.
public struct Secrets: Sendable {
    /// What replaces a secret.
    public static let placeholder = "<redacted>"

    private var values: [String]

    public init(_ values: [String?]) {
        // Very short values would redact ordinary words; real keys and tokens are long.
        self.values = values.compactMap { $0 }.filter { $0.count >= 4 }
    }

    /// Adds a secret learned later (a freshly fetched access token).
    public mutating func add(_ value: String) {
        if value.count >= 4 { self.values.append(value) }
    }

    /// `text` with every known secret replaced by `<redacted>`.
    public func redact(_ text: String) -> String {
        var text = text
        for value in self.values where text.contains(value) {
            text = text.replacing(value, with: Self.placeholder)
        }
        return text
    }
}
