/// The `gateway.*` settings of worker.conf, read by `llmq gateway` (the workers ignore them).
public struct GatewaySettings: Sendable, Hashable {
    /// `gateway.host`: the address to listen on. Default `0.0.0.0`.
    public var host = "0.0.0.0"
    /// `gateway.port`: 0 picks a free port. Default 8080.
    public var port = 8080
    /// `gateway.tokens`: bearer tokens, comma-separated; any of them is accepted. Secret. Default none:
    /// no authentication (the gateway warns at start-up).
    public var tokens: [String] = []
    /// `gateway.cors_origins`: origins allowed to call the API from a browser, comma-separated
    /// (`*` for any). Default none (no CORS headers; the built-in page is same-origin).
    public var corsOrigins: [String] = []
    /// `gateway.max_body_bytes`: larger request bodies get 413. Default 1048576.
    public var maxBodyBytes = 1 << 20
    /// `gateway.max_clients`: streaming responses (SSE, streamed and waiting completions) open at
    /// once; more get 503. Default 10000.
    public var maxClients = 10_000
    /// `gateway.client_buffer_bytes`: events waiting to be written to one client; a client that
    /// falls further behind gets a final `error` event (`slow_client`) and is disconnected. Default 1048576.
    public var clientBufferBytes = 1 << 20
    /// `gateway.window_jobs`: the most jobs whose events and result the gateway keeps in memory
    /// for late joiners and reconnects (the oldest go first). Default 10000.
    public var windowJobs = 10_000
    /// `gateway.window_bytes`: about how much memory the window's events may take; beyond it the
    /// oldest jobs leave first. Default 134217728 (128 MiB).
    public var windowBytes = 128 << 20
    /// `gateway.window_ms`: jobs without an event for this long leave the window; at start-up the
    /// gateway reads the topics from this long ago. Default 900000 (15 minutes).
    public var window: Duration = .seconds(900)
    /// `gateway.heartbeat_ms`: an SSE comment is sent to every open stream this often, so idle
    /// proxies keep the connection and gone clients are noticed. Default 10000.
    public var heartbeat: Duration = .seconds(10)

    public init() {}

    /// True when requests need a bearer token.
    public var requiresAuth: Bool { !tokens.isEmpty }
}
