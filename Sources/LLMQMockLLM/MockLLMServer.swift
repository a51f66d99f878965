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
public final class MockLLMServer: Sendable {
    public let configuration: MockLLMConfiguration
    private let logger: Logger
    private let state = MockLLMState()

    public init(configuration: MockLLMConfiguration = MockLLMConfiguration(), logger: Logger = Logger(label: "llmq.mock-llm")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Counters so far.
    public var stats: MockLLMStats { self.state.stats }

    /// Starts a new "max concurrent" measurement from the current number of active streams.
    public func resetMaxConcurrent() { self.state.resetMaxConcurrent() }

    /// The bound port, once the server listens (waits until then; throws if it stopped or failed to start).
    public func listeningPort() async throws -> Int {
        try await self.state.port()
    }

    /// Serves until the calling task is cancelled.
    /// - Parameter onListening: called once with the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ in
            try await self.openAI(request)
        }
        router.post("/oauth/2.0/token") { request, _ in
            self.ernieToken(request)
        }
        router.post("/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/:model") { request, context in
            try await self.ernie(request, model: context.parameters.get("model") ?? "completions")
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

    private func decodeChat(_ request: Request) async throws -> ChatBody? {
        var request = request
        let buffer = try await request.collectBody(upTo: 8 << 20)
        return try? JSONDecoder().decode(ChatBody.self, from: Data(buffer.readableBytesView))
    }

    // MARK: - OpenAI

    private func openAI(_ request: Request) async throws -> Response {
        guard let body = try await self.decodeChat(request) else {
            return Self.json(.badRequest, #"{"error":{"message":"invalid JSON body","type":"invalid_request_error","code":null}}"#)
        }
        let ticket = StreamTicket(self.state)
        let plan = self.plan(body)
        let apiKey = request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) } ?? ""
        if let status = plan.faults.failStatus, plan.faults.errorAfter == nil {
            return Self.openAIFailure(status: status, faults: plan.faults, apiKey: apiKey)
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
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: out))
        }
        let prefix = #"data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":0,"model":\#(model),"choices":[{"index":0,"delta":{"content":""#
        let suffix = "\"},\"finish_reason\":null}]}\n\n"
        let end = #"data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":0,"model":\#(model),"choices":[{"index":0,"delta":{},"finish_reason":"\#(finish)"}]}"#
            + "\n\n" + #"data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":0,"model":\#(model),"choices":[],"usage":\#(usage)}"#
            + "\n\ndata: [DONE]\n\n"
        let midError = "data: " + #"{"error":{"message":"mock mid-stream failure","type":"server_error","code":"server_error"}}"# + "\n\n"
        let stamp = self.configuration.stampDeltas
        let server = self
        return Self.eventStream { writer in
            withExtendedLifetime(ticket) {}
            try await server.stream(plan, stamp: stamp, writer: &writer) { text, _, _ in
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

    private func ernie(_ request: Request, model: String) async throws -> Response {
        let token = request.uri.queryParameters.get("access_token").map { String($0) } ?? ""
        guard let body = try await self.decodeChat(request) else {
            return Self.json(.ok, #"{"error_code":336003,"error_msg":"invalid JSON body"}"#)
        }
        let ticket = StreamTicket(self.state)
        let plan = self.plan(body)
        guard self.state.isIssued(token) || token == self.configuration.ernieStaticToken else {
            return Self.json(.ok, #"{"error_code":110,"error_msg":\#(MockWire.quoted("Access token invalid or no longer valid: \(token)"))}"#)
        }
        if let status = plan.faults.failStatus, plan.faults.errorAfter == nil {
            return Self.openAIFailure(status: status, faults: plan.faults, apiKey: "")
        }
        let errorJSON = plan.faults.ernieError.map { #"{"error_code":\#($0),"error_msg":"mock error \#($0)"}"# }
        if let errorJSON, plan.faults.errorAfter == nil {
            return Self.json(.ok, errorJSON)
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
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: out))
        }
        let stamp = self.configuration.stampDeltas
        let server = self
        return Self.eventStream { writer in
            withExtendedLifetime(ticket) {}
            try await server.stream(plan, stamp: stamp, writer: &writer) { text, index, isLast in
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
    private func stream(
        _ plan: Plan,
        stamp: Bool,
        writer: inout any ResponseBodyWriter,
        event: (String, Int, Bool) -> ByteBuffer,
        end: () -> ByteBuffer?,
        midError: () -> ByteBuffer?
    ) async throws {
        let faults = plan.faults
        if plan.delay > .zero { try await Task.sleep(for: plan.delay) }
        if faults.hang == .first {
            try await self.hang()
        }
        let count = plan.pieces.count
        for index in 0...count {
            if index > 0, (index < count), plan.gap > .zero { try await Task.sleep(for: plan.gap) }
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
            let piece = plan.pieces[index]
            let text = stamp ? "@\(MockWire.wallClockMicros())|" + piece : piece
            try await writer.write(event(text, index, index == count - 1))
            if faults.hang == .mid, index == 0 {
                try await self.hang()
            }
        }
        if let end = end() { try await writer.write(end) }
        try await writer.finish(nil)
    }

    /// Goes silent with the connection open until the server shuts down (then aborts the response).
    private func hang() async throws {
        // Polling (only hung responses do this) keeps shutdown from waiting on them.
        while !self.state.isShuttingDown {
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CancellationError()
    }

    private static func eventStream(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody(write)
        )
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
