import AsyncHTTPClient
import NIOCore

extension Timeouts {
    /// Timeouts for the shared `HTTPClient`'s configuration: its connect timeout is the backstop
    /// for ours (the per-call watchdog enforces `connect` too); reads are limited by the watchdog.
    public var httpClientTimeout: HTTPClient.Configuration.Timeout {
        HTTPClient.Configuration.Timeout(connect: .nanoseconds(self.connect.nanoseconds), read: nil)
    }
}
