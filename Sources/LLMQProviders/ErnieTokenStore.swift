import AsyncHTTPClient
import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Caches the ERNIE access token obtained from AK/SK, fetching it once for all concurrent callers.
actor ErnieTokenStore {
    private let client: HTTPClient
    private let tokenURL: String
    private let secrets: Secrets
    private var current: (token: String, refreshAfter: NIODeadline)?
    private var inflight: Task<String, any Error>?

    /// The token URL carries the secret key: it is kept here and never put into a message.
    init(client: HTTPClient, baseURL: String, apiKey: String, secretKey: String) {
        self.client = client
        self.tokenURL = baseURL + "/oauth/2.0/token?grant_type=client_credentials&client_id=\(Self.percentEncoded(apiKey))&client_secret=\(Self.percentEncoded(secretKey))"
        self.secrets = Secrets([apiKey, secretKey])
    }

    /// A valid token, fetching one if none is cached (one fetch however many callers wait).
    func token(timeout: Duration) async throws -> String {
        if let current, NIODeadline.now() < current.refreshAfter { return current.token }
        if let inflight { return try await inflight.value }
        let task = Task { try await self.fetch(timeout: timeout) }
        self.inflight = task
        defer { self.inflight = nil }
        return try await task.value
    }

    /// Drops `token` if it is still the cached one (a 110/111 answer said it is no good).
    func invalidate(_ token: String) {
        if self.current?.token == token { self.current = nil }
    }

    private func fetch(timeout: Duration) async throws -> String {
        var request = HTTPClientRequest(url: self.tokenURL)
        request.method = .POST
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await self.client.execute(request, deadline: .now() + .nanoseconds(timeout.nanoseconds))
            body = try await HTTPCall.collect(response, limit: 64 * 1024)
        } catch {
            throw ProviderError(code: .connection, message: "access token request failed: \(self.secrets.redact(String(describing: error)))")
        }
        let decoded = try? JSONCoding.decode(ErnieWire.TokenResponse.self, from: body, using: JSONDecoder())
        guard response.status == .ok, let decoded, let token = decoded.access_token, !token.isEmpty else {
            let status = Int(response.status.code)
            let reason = decoded.map { "\($0.error ?? "") \($0.error_description ?? "")" } ?? self.secrets.snippet(body)
            let transient = status == 429 || status >= 500
            throw ProviderError(
                code: transient ? .httpStatus : .authentication,
                message: "access token refused: \(self.secrets.redact(reason))",
                httpStatus: status,
                isRetryable: transient
            )
        }
        // Refresh a little early (an hour, or a tenth for short lifetimes) rather than race expiry.
        let lifetime = Int64(decoded.expires_in ?? 2_592_000)
        let margin = min(3600, lifetime / 10)
        self.current = (token, .now() + .seconds(lifetime - margin))
        return token
    }

    private static func percentEncoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
            }
        }
        return out
    }
}
