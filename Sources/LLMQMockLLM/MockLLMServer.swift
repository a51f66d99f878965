#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import NIOCore

/// The provider stand-in: serves the OpenAI and ERNIE wire formats with deterministic replies
/// (`MockReply`), pacing, and injected faults (`MockFaults`, `MockDirective`).
///
/// Routes:
/// - `POST /v1/chat/completions` (OpenAI, streaming or not)
/// - `POST /oauth/2.0/token` (ERNIE access token from AK/SK)
/// - `POST /rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{model}?access_token=...` (ERNIE, streaming or not)
/// - `GET /mock/stats` (`MockLLMStats` as JSON, for a bench that runs the stand-in as a process)
/// - `POST /mock/quota/reset[?requests=N]` (refills the `--quota-requests` quota, or sets it to N)
///
/// With `requestsPerSecond` / `tokensPerSecond` set, chat requests pass one server-wide
/// `MockRateLimiter` first (429 with OpenAI's body and headers beyond it); with `quotaRequests`, a
/// quota (429 `insufficient_quota` once used up).
public final class MockLLMServer: Sendable {
    public let configuration: MockLLMConfiguration
    private let logger: Logger
    private let state: MockLLMState
    /// Time for the rate limiter: since the server was made, on the clock it was given.
    private let elapsed: @Sendable () -> Duration

    public convenience init(configuration: MockLLMConfiguration = MockLLMConfiguration(), logger: Logger = Logger(label: "llmq.mock-llm")) {
        self.init(configuration: configuration, logger: logger, clock: ContinuousClock())
    }

    /// - Parameter clock: the rate limiter's time (tests pass a test clock and advance it).
    public init<C: Clock>(configuration: MockLLMConfiguration, logger: Logger, clock: C) where C.Duration == Duration {
        self.configuration = configuration
        self.logger = logger
        self.state = MockLLMState(
            limiter: MockRateLimiter(requestsPerSecond: configuration.requestsPerSecond, tokensPerSecond: configuration.tokensPerSecond),
            quota: configuration.quotaRequests
        )
        let origin = clock.now
        self.elapsed = { origin.duration(to: clock.now) }
    }

    /// Counters so far.
    public var stats: MockLLMStats { self.state.stats }

    /// Refills the quota to `requests` admissions (default: `configuration.quotaRequests`), as a
    /// provider account that was topped up.
    public func resetQuota(requests: Int? = nil) { self.state.setQuota(requests ?? self.configuration.quotaRequests) }

    /// Starts a new "max concurrent" measurement from the current number of active streams.
    public func resetMaxConcurrent() { self.state.resetMaxConcurrent() }

    /// The bound port, once the server listens (waits until then; throws if it stopped or failed to start).
    public func listeningPort() async throws -> Int {
        try await self.state.port()
    }

    /// Serves until the calling task is cancelled.
    /// - Parameter onListening: called once with the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router(context: MockRequestContext.self)
        router.post("/v1/chat/completions") { request, context in
            try await self.openAI(request, on: context.eventLoop)
        }
        router.post("/oauth/2.0/token") { request, _ in
            self.ernieToken(request)
        }
        router.post("/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/:model") { request, context in
            try await self.ernie(request, model: context.parameters.get("model") ?? "completions", on: context.eventLoop)
        }
        router.get("/mock/stats") { _, _ in
            let body = (try? JSONEncoder().encode(self.stats)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return Self.json(.ok, body)
        }
        router.post("/mock/quota/reset") { request, _ in
            let requests = request.uri.queryParameters.get("requests").flatMap { Int($0) }
            self.resetQuota(requests: requests)
            return Self.json(.ok, #"{"quota_requests":\#(requests ?? self.configuration.quotaRequests ?? -1)}"#)
        }
        let state = self.state
        let app = Application(
            router: router,
            configuration: .init(
                address: .hostname(self.configuration.host, port: self.configuration.port),
                serverName: nil,
                backlog: self.configuration.backlog
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                state.listening(on: port)
                await onListening(port)
            },
            logger: self.logger
        )
        do {
            try await withTaskCancellationHandler {
                try await app.run()
            } onCancel: {
                // Hung responses poll this, so shutdown never waits on them.
                state.beginShutdown()
            }
            state.stopped(nil)
        } catch {
            state.stopped(error)
            throw error
        }
    }

    // MARK: - Request parsing

    private struct ChatBody: Decodable {
        struct Message: Decodable {
            var role: String
            var content: String
        }
        var model: String?
        var messages: [Message]
        var stream: Bool?
        var system: String?
        var max_tokens: Int?
        /// ERNIE's name for max_tokens.
        var max_output_tokens: Int?
    }

    /// What one chat request gets: its reply and the faults that apply to it.
    private struct Plan: Sendable {
        var pieces: [String]
        var faults: MockFaults
        var delay: Duration
        var gap: Duration
        var promptTokens: Int
        var stream: Bool
    }

    private func plan(_ body: ChatBody) -> Plan {
        let prompt = body.messages.last(where: { $0.role == "user" })?.content ?? body.messages.last?.content ?? ""
        let count = self.state.chatRequest(prompt: prompt)
        let directive = MockDirective(parsing: prompt, base: self.configuration.faults)
        var faults = directive.faults
        if let times = faults.failTimes, count > times { faults = MockFaults() }
        if !faults.isEmpty { self.state.faultInjected() }
        let promptTokens = body.messages.reduce(0) { $0 + $1.content.split(separator: " ").count }
        return Plan(
            pieces: MockReply.pieces(for: prompt, words: directive.words ?? self.configuration.words),
            faults: faults,
            delay: directive.delay ?? self.configuration.firstChunkDelay,
            gap: directive.gap ?? self.configuration.gap,
            promptTokens: promptTokens,
            stream: body.stream ?? false
        )
    }

    /// Runs a chat request through the quota and the rate limit. Its token cost: the prompt's words
    /// (as `usage.prompt_tokens` counts them) plus `max_tokens`, else the reply's words.
    private func admit(_ body: ChatBody) -> MockLLMState.Admission {
        let prompt = body.messages.last(where: { $0.role == "user" })?.content ?? body.messages.last?.content ?? ""
        let promptTokens = body.messages.reduce(0) { $0 + $1.content.split(separator: " ").count }
        let completion = body.max_tokens ?? body.max_output_tokens ?? MockDirective(parsing: prompt).words ?? self.configuration.words
        return self.state.admit(tokens: promptTokens + completion, at: self.elapsed())
    }

    private func decodeChat(_ request: Request) async throws -> ChatBody? {
        var request = request
        let buffer = try await request.collectBody(upTo: 8 << 20)
        return try? JSONDecoder().decode(ChatBody.self, from: Data(buffer.readableBytesView))
    }

    // MARK: - OpenAI

    private func openAI(_ request: Request, on loop: any EventLoop) async throws -> Response {
        guard let body = try await self.decodeChat(request) else {
            return Self.json(.badRequest, #"{"error":{"message":"invalid JSON body","type":"invalid_request_error","code":null}}"#)
        }
        let ticket = StreamTicket(self.state)
        let limits: MockRateLimiter.Decision
        switch self.admit(body) {
        case .admitted(let decision): limits = decision
        case .throttled(let decision): return Self.openAIThrottled(decision, model: body.model ?? "mock")
        case .quotaExceeded(let decision): return Self.openAIQuotaExceeded(decision)
        }
        let plan = self.plan(body)
        let apiKey = request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) } ?? ""
        if let status = plan.faults.failStatus, plan.faults.errorAfter == nil {
            return Self.withLimits(Self.openAIFailure(status: status, faults: plan.faults, apiKey: apiKey), limits)
        }
        let model = MockWire.quoted(body.model ?? "mock")
        let usage = MockWire.usageJSON(prompt: plan.promptTokens, completion: plan.pieces.count)
        let finish = plan.faults.contentFilter ? "content_filter" : "stop"
        if !plan.stream {
            if plan.faults.hang != nil { try await self.hang() }
            if plan.delay > .zero { try await Task.sleep(for: plan.delay) }
            var out = ByteBuffer()
            out.writeString(#"{"id":"chatcmpl-mock","object":"chat.completion","created":0,"model":\#(model),"choices":[{"index":0,"message":{"role":"assistant","content":""#)
            MockWire.writeEscaped(plan.pieces.joined(), into: &out)
            out.writeString(#""},"finish_reason":"\#(finish)"}],"usage":\#(usage)}"#)
            return Self.withLimits(Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: out)), limits)
        }
        let prefix = #"data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":0,"model":\#(model),"choices":[{"index":0,"delta":{"content":""#
        let suffix = "\"},\"finish_reason\":null}]}\n\n"
        let end = #"data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":0,"model":\#(model),"choices":[{"index":0,"delta":{},"finish_reason":"\#(finish)"}]}"#
            + "\n\n" + #"data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":0,"model":\#(model),"choices":[],"usage":\#(usage)}"#
            + "\n\ndata: [DONE]\n\n"
        let midError = "data: " + #"{"error":{"message":"mock mid-stream failure","type":"server_error","code":"server_error"}}"# + "\n\n"
        let stamp = self.configuration.stampDeltas
        let server = self
        return Self.eventStream(limits) { writer in
            withExtendedLifetime(ticket) {}
            try await server.stream(plan, stamp: stamp, on: loop, writer: &writer) { text, _, _ in
                var event = ByteBuffer()
                event.reserveCapacity(prefix.utf8.count + suffix.utf8.count + text.utf8.count + 16)
                event.writeString(prefix)
                MockWire.writeEscaped(text, into: &event)
                event.writeString(suffix)
                return event
            } end: {
                ByteBuffer(string: end)
            } midError: {
                ByteBuffer(string: midError)
            }
            withExtendedLifetime(ticket) {}
        }
    }

    /// The 429 of a rate limit, as OpenAI words it, with Retry-After (whole seconds, rounded up)
    /// and retry-after-ms.
    private static func openAIThrottled(_ decision: MockRateLimiter.Decision, model: String) -> Response {
        let limit = decision.refusedBy ?? .requests
        let status = (limit == .requests ? decision.requests : decision.tokens)
        let wait = MockRateLimiter.formatReset(decision.retryAfter)
        let unit = limit == .requests ? "requests per second (RPS)" : "tokens per second (TPS)"
        let message = "Rate limit reached for \(model) in organization org-mock on \(unit): Limit \(status?.limit ?? 0), "
            + "Used \(status.map { $0.limit - $0.remaining } ?? 0)\(limit == .requests ? ", Requested 1" : ""). Please try again in \(wait)."
        var response = Self.json(
            .tooManyRequests,
            #"{"error":{"message":\#(MockWire.quoted(message)),"type":"\#(limit.rawValue)","param":null,"code":"rate_limit_exceeded"}}"#
        )
        Self.addRetryAfter(decision.retryAfter, to: &response)
        return Self.withLimits(response, decision)
    }

    /// The 429 of a used-up quota, as OpenAI words it: no Retry-After (waiting does not help).
    private static func openAIQuotaExceeded(_ decision: MockRateLimiter.Decision) -> Response {
        let message = "You exceeded your current quota, please check your plan and billing details."
        let response = Self.json(
            .tooManyRequests,
            #"{"error":{"message":"\#(message)","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#
        )
        return Self.withLimits(response, decision)
    }

    private static func addRetryAfter(_ wait: Duration, to response: inout Response) {
        let millis = MockRateLimiter.milliseconds(roundingUp: wait)
        response.headers[.retryAfter] = String(max(1, (millis + 999) / 1000))
        response.headers[.init("retry-after-ms")!] = String(millis)
    }

    /// Adds the `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` headers of the limits that are
    /// set: the limit per minute, what the bucket holds now, and the time until it is full again.
    private static func withLimits(_ response: Response, _ decision: MockRateLimiter.Decision) -> Response {
        var response = response
        for (suffix, status) in [("requests", decision.requests), ("tokens", decision.tokens)] {
            guard let status else { continue }
            // Per minute, as OpenAI states it (the bucket holds one second of it).
            response.headers[.init("x-ratelimit-limit-\(suffix)")!] = String(status.limit * 60)
            response.headers[.init("x-ratelimit-remaining-\(suffix)")!] = String(status.remaining)
            response.headers[.init("x-ratelimit-reset-\(suffix)")!] = MockRateLimiter.formatReset(status.reset)
        }
        return response
    }

    private static func openAIFailure(status: Int, faults: MockFaults, apiKey: String) -> Response {
        let (type, code, message): (String, String?, String)
        switch status {
        case 401:
            // Real servers quote (part of) the key back: the client must keep it out of its errors.
            (type, code, message) = ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: \(apiKey)")
        case 429:
            (type, code, message) = ("rate_limit_error", faults.failCode ?? "rate_limit_exceeded", "mock rate limit")
        case 500...:
            (type, code, message) = ("server_error", faults.failCode, "mock server error \(status)")
        default:
            (type, code, message) = ("invalid_request_error", faults.failCode, "mock failure \(status)")
        }
        let codeJSON = code.map(MockWire.quoted) ?? "null"
        var response = Self.json(
            HTTPResponse.Status(code: status),
            #"{"error":{"message":\#(MockWire.quoted(message)),"type":"\#(type)","code":\#(codeJSON)}}"#
        )
        if let seconds = faults.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
        return response
    }

    // MARK: - ERNIE

    private func ernieToken(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        let apiKey = query.get("client_id").map { String($0) } ?? ""
        let secretKey = query.get("client_secret").map { String($0) } ?? ""
        let accepted: Bool
        if let expected = self.configuration.ernieCredentials {
            accepted = expected.apiKey == apiKey && expected.secretKey == secretKey
        } else {
            accepted = !apiKey.isEmpty && !secretKey.isEmpty
        }
        guard accepted, query.get("grant_type") == "client_credentials" else {
            self.state.tokenRequestRefused()
            return Self.json(.unauthorized, #"{"error":"invalid_client","error_description":"unknown client id"}"#)
        }
        let token = self.state.issueToken()
        return Self.json(.ok, #"{"refresh_token":"mock-refresh","expires_in":2592000,"session_key":"mock","access_token":"\#(token)","scope":"public","session_secret":"mock"}"#)
    }

    private func ernie(_ request: Request, model: String, on loop: any EventLoop) async throws -> Response {
        let token = request.uri.queryParameters.get("access_token").map { String($0) } ?? ""
        guard let body = try await self.decodeChat(request) else {
            return Self.json(.ok, #"{"error_code":336003,"error_msg":"invalid JSON body"}"#)
        }
        let ticket = StreamTicket(self.state)
        guard self.state.isIssued(token) || token == self.configuration.ernieStaticToken else {
            _ = self.plan(body)
            return Self.json(.ok, #"{"error_code":110,"error_msg":\#(MockWire.quoted("Access token invalid or no longer valid: \(token)"))}"#)
        }
        // ERNIE reports limits as HTTP 200 with its error codes: 18 (QPS), 336502 (TPM), 17 (daily quota).
        let limits: MockRateLimiter.Decision
        switch self.admit(body) {
        case .admitted(let decision): limits = decision
        case .throttled(let decision):
            let (code, message) = decision.refusedBy == .tokens ? (336502, "Rate limit reached for TPM") : (18, "Open api qps request limit reached")
            return Self.withLimits(Self.json(.ok, #"{"error_code":\#(code),"error_msg":"\#(message)"}"#), decision)
        case .quotaExceeded(let decision):
            return Self.withLimits(Self.json(.ok, #"{"error_code":17,"error_msg":"Open api daily request limit reached"}"#), decision)
        }
        let plan = self.plan(body)
        if let status = plan.faults.failStatus, plan.faults.errorAfter == nil {
            return Self.withLimits(Self.openAIFailure(status: status, faults: plan.faults, apiKey: ""), limits)
        }
        let errorJSON = plan.faults.ernieError.map { #"{"error_code":\#($0),"error_msg":"mock error \#($0)"}"# }
        if let errorJSON, plan.faults.errorAfter == nil {
            return Self.withLimits(Self.json(.ok, errorJSON), limits)
        }
        let total = plan.pieces.count
        let filtered = plan.faults.contentFilter
        let usage: @Sendable (Int) -> String = { completion in MockWire.usageJSON(prompt: plan.promptTokens, completion: completion) }
        if !plan.stream {
            if plan.faults.hang != nil { try await self.hang() }
            if plan.delay > .zero { try await Task.sleep(for: plan.delay) }
            var out = ByteBuffer()
            out.writeString(#"{"id":"as-mock","object":"chat.completion","created":0,"result":""#)
            MockWire.writeEscaped(plan.pieces.joined(), into: &out)
            out.writeString(#"","is_truncated":false,"need_clear_history":\#(filtered),"#)
            if filtered { out.writeString(#""ban_round":-1,"#) }
            out.writeString(#""finish_reason":"normal","usage":\#(usage(total))}"#)
            return Self.withLimits(Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: out)), limits)
        }
        let stamp = self.configuration.stampDeltas
        let server = self
        return Self.eventStream(limits) { writer in
            withExtendedLifetime(ticket) {}
            try await server.stream(plan, stamp: stamp, on: loop, writer: &writer) { text, index, isLast in
                var event = ByteBuffer()
                event.reserveCapacity(text.utf8.count + 256)
                event.writeString(#"data: {"id":"as-mock","object":"chat.completion","created":0,"sentence_id":\#(index),"is_end":\#(isLast),"is_truncated":false,"result":""#)
                MockWire.writeEscaped(text, into: &event)
                event.writeString(#"","need_clear_history":\#(isLast && filtered),"#)
                if isLast && filtered { event.writeString(#""ban_round":-1,"#) }
                if isLast { event.writeString(#""finish_reason":"normal","#) }
                event.writeString(#""usage":\#(usage(index + 1))}"#)
                event.writeString("\n\n")
                return event
            } end: {
                // With text, the last delta carried is_end; an empty reply still needs its end.
                guard total == 0 else { return nil }
                return ByteBuffer(string: #"data: {"id":"as-mock","object":"chat.completion","created":0,"sentence_id":0,"is_end":true,"is_truncated":false,"result":"","need_clear_history":false,"usage":\#(usage(0))}"# + "\n\n")
            } midError: {
                errorJSON.map { ByteBuffer(string: "data: \($0)\n\n") }
            }
            withExtendedLifetime(ticket) {}
        }
    }

    // MARK: - Streaming engine shared by both formats

    /// Writes the events of `plan`, applying pacing and faults. `event(text, index, isLast)` builds one delta event.
    /// Runs on `loop`, the connection's event loop, and waits on its timers: see `MockRequestContext`.
    private func stream(
        _ plan: Plan,
        stamp: Bool,
        on loop: any EventLoop,
        writer: inout any ResponseBodyWriter,
        event: (String, Int, Bool) -> ByteBuffer,
        end: () -> ByteBuffer?,
        midError: () -> ByteBuffer?
    ) async throws {
        try await withTaskExecutorPreference(EventLoopExecutor(loop)) {
            let faults = plan.faults
            if plan.delay > .zero { try await Self.pause(plan.delay, on: loop) }
            if faults.hang == .first {
                try await self.hang()
            }
            let count = plan.pieces.count
            /// Delta `index` as an event, stamped with the time it is built when asked to.
            func delta(_ index: Int) -> ByteBuffer {
                let piece = plan.pieces[index]
                return event(stamp ? "@\(MockWire.wallClockMicros())|" + piece : piece, index, index == count - 1)
            }
            // `isEmpty` leaves out `errorAfter`, which alone already breaks an OpenAI-format stream.
            if self.configuration.oneWrite, plan.gap == .zero, faults.isEmpty, faults.errorAfter == nil {
                var reply = ByteBuffer()
                for index in 0..<count {
                    var next = delta(index)
                    reply.writeBuffer(&next)
                }
                if var end = end() { reply.writeBuffer(&end) }
                try await writer.write(reply)
                try await writer.finish(nil)
                return
            }
            for index in 0...count {
                if index > 0, (index < count), plan.gap > .zero { try await Self.pause(plan.gap, on: loop) }
                if faults.cutAfter == index {
                    try await writer.finish(nil)
                    return
                }
                if faults.malformedAfter == index {
                    try await writer.write(ByteBuffer(string: "data: {\"choices\": [not json\n\n"))
                    try await writer.finish(nil)
                    return
                }
                if faults.errorAfter == index, let error = midError() {
                    try await writer.write(error)
                    try await writer.finish(nil)
                    return
                }
                guard index < count else { break }
                try await writer.write(delta(index))
                if faults.hang == .mid, index == 0 {
                    try await self.hang()
                }
            }
            if let end = end() { try await writer.write(end) }
            try await writer.finish(nil)
        }
    }

    /// Waits `duration` on the loop's own timer (no dispatch timer thread); cancellable.
    private static func pause(_ duration: Duration, on loop: any EventLoop) async throws {
        let (seconds, attoseconds) = duration.components
        let timer = loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {}
        try await withTaskCancellationHandler {
            do { try await timer.futureResult.get() } catch { throw CancellationError() }
        } onCancel: {
            timer.cancel()
        }
    }

    /// Goes silent with the connection open until the server shuts down (then aborts the response).
    private func hang() async throws {
        // Polling (only hung responses do this) keeps shutdown from waiting on them.
        while !self.state.isShuttingDown {
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CancellationError()
    }

    private static func eventStream(
        _ limits: MockRateLimiter.Decision,
        _ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void
    ) -> Response {
        Self.withLimits(
            Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody(write)),
            limits
        )
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
