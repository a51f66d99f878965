import AsyncHTTPClient
import NIOCore

/// GETs a URL's body as text (a worker's /metrics, /healthz).
public func httpGetText(_ url: String) async throws -> String {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 16 << 20)
    return String(buffer: body)
}
