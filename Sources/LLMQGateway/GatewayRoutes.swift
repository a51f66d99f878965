import Foundation
import HTTPTypes
import Hummingbird
import LLMQCore
import LLMQKafka
import Logging
import NIOCore

/// The gateway's HTTP API over the hub (reads) and the producer (writes).
struct GatewayRoutes: Sendable {
    let hub: GatewayHub
    let producer: KafkaProducer
    let topics: GatewayHub.Topics
    let parser: JobParser
    let maxBodyBytes: Int
    let logger: Logger

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: ByteBuffer(string: GatewayPage.html)))
        }
        router.get("/healthz") { _, _ in Self.json(.ok, #"{"status":"ok"}"#) }
        let api = router.group("v1")
        api.post("jobs") { request, _ in try await self.submit(request) }
        api.get("jobs") { request, _ in self.list(request) }
        api.get("jobs/:id") { _, context in self.status(try context.parameters.require("id")) }
        api.get("jobs/:id/events") { request, context in
            self.events(try context.parameters.require("id"), request: request, context: context)
        }
        api.delete("jobs/:id") { _, context in try await self.cancel(try context.parameters.require("id")) }
        api.get("events") { _, context in self.allEvents(context: context) }
        api.post("chat/completions") { request, context in try await self.chatCompletion(request, context: context) }
    }

    // MARK: - Jobs

    private func submit(_ request: Request) async throws -> Response {
        let bytes: [UInt8]
        do { bytes = try await body(request) } catch let response as ErrorResponse { return response.response }
        // Read as the workers read jobs (`JSONParser`), so the gateway accepts exactly what they do.
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch {
            return Self.error(.badRequest, kind: "malformed_json", "the body is not valid JSON: \(error)")
        }
        guard case .object(var object) = root else {
            return Self.error(.badRequest, kind: "malformed_json", "the body must be a job as a JSON object")
        }
        var payload = bytes
        if object["id"] == nil || object["id"] == .null {
            object["id"] = .string(Self.newJobID())
            payload = Self.encode(.object(object))
        }
        let job: Job
        switch parser.parse(payload) {
        case .success(let parsed): job = parsed
        case .failure(let error): return Self.error(.badRequest, kind: error.kind, error.message)
        }
        guard hub.claim(job.id, prompt: job.messages.last { $0.role == "user" }?.content) else {
            return Self.json(.accepted, ["id": .string(job.id), "duplicate": .bool(true)], location: job.id)
        }
        do {
            try await producer.send(OutgoingMessage(topic: topics.jobs, key: Array(job.id.utf8), value: payload))
        } catch {
            hub.release(job.id)
            logger.warning("enqueue failed", metadata: ["job_id": "\(job.id)", "error": "\(error)"])
            return Self.error(.serviceUnavailable, kind: "enqueue_failed", "the job could not be enqueued: \(error)")
        }
        return Self.json(.accepted, ["id": .string(job.id)], location: job.id)
    }

    private func status(_ id: String) -> Response {
        guard let record = hub.record(id) else {
            return Self.error(.notFound, kind: "not_found", "no job \(id) in this gateway's window (recent jobs only: gateway.window_ms, gateway.window_jobs)")
        }
        if case .result(_, let json)? = record.result?.kind {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        return Self.json(.accepted, Self.summary(record))
    }

    private func list(_ request: Request) -> Response {
        let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) }.map { min(max($0, 1), 1000) } ?? 50
        let jobs = hub.recent(limit).map { Self.summary($0) }
        return Self.json(.ok, ["jobs": .array(jobs.map { .object($0) })])
    }

    /// What is known of a job: status (`queued`, `streaming`, or the result's), attempt, text so far.
    static func summary(_ record: JobWindow.Record) -> [String: JSONValue] {
        var summary: [String: JSONValue] = ["id": .string(record.id), "cancel_requested": .bool(record.cancelRequested)]
        if let prompt = record.prompt { summary["prompt"] = .string(prompt) }
        if case .result(let result, _)? = record.result?.kind {
            summary["status"] = .string(result?.status.rawValue ?? "unknown")
            if let result, let value = try? JSONDecoder().decode(JSONValue.self, from: Data(result.encodedForDelivery())) {
                summary["result"] = value
            }
        } else {
            summary["status"] = .string(record.streamID == nil ? "queued" : "streaming")
        }
        if let streamID = record.streamID {
            summary["stream_id"] = .string(streamID)
            summary["attempt"] = .number(Double(record.attempt))
            summary["text"] = .string(record.text)
        }
        return summary
    }

    private func cancel(_ id: String) async throws -> Response {
        if let record = hub.record(id), case .result(let result, _)? = record.result?.kind {
            return Self.json(.conflict, ["id": .string(id), "status": .string(result?.status.rawValue ?? "unknown"),
                                         "error": .object(["kind": .string("finished"), "message": .string("the job already has its result")])])
        }
        do {
            try await requestCancel(id)
        } catch {
            return Self.error(.serviceUnavailable, kind: "cancel_failed", "the cancel request could not be sent: \(error)")
        }
        return Self.json(.accepted, ["id": .string(id), "status": .string("cancel_requested")])
    }

    /// Puts a cancel request for the job on the control topic, keyed by its id; returns once the broker has it.
    func requestCancel(_ jobID: String) async throws {
        try await producer.send(OutgoingMessage(topic: topics.control, key: Array(jobID.utf8), value: ControlMessage(cancel: jobID).encoded()))
    }

    // MARK: - Event streams

    private func events(_ id: String, request: Request, context: GatewayRequestContext) -> Response {
        let resume = ResumePoint(lastEventID: request.headers[Self.lastEventID])
        let client: ClientStream
        do throws(GatewayHub.Refused) { client = try hub.follow(job: id, resume: resume) } catch { return Self.tooManyClients(error) }
        return sse(client, context: context)
    }

    private func allEvents(context: GatewayRequestContext) -> Response {
        let client: ClientStream
        do throws(GatewayHub.Refused) { client = try hub.followAll() } catch { return Self.tooManyClients(error) }
        return sse(client, context: context)
    }

    private func sse(_ client: ClientStream, context: GatewayRequestContext) -> Response {
        let hub = self.hub
        context.channel.closeFuture.whenComplete { _ in client.disconnect() }
        return Response(status: .ok, headers: Self.sseHeaders, body: ResponseBody { writer in
            defer { hub.leave(client) }
            // A first comment puts the headers on the wire at once.
            try await writer.write(ByteBuffer(string: ": llmq\n\n"))
            loop: while true {
                switch await client.next() {
                case .events(let events):
                    try await writer.write(Self.concatenate(events.lazy.map(\.frame)))
                case .end(let final):
                    if let final { try await writer.write(final) }
                    break loop
                }
            }
            try await writer.finish(nil)
        })
    }

    static func concatenate(_ frames: some Sequence<ByteBuffer>) -> ByteBuffer {
        var iterator = frames.makeIterator()
        guard var first = iterator.next() else { return ByteBuffer() }
        while var next = iterator.next() { first.writeBuffer(&next) }
        return first
    }

    // MARK: - Helpers

    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let keepHeader = HTTPField.Name("X-LLMQ-Keep")!
    static let sseHeaders: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no"]

    struct ErrorResponse: Error { var response: Response }

    func body(_ request: Request) async throws -> [UInt8] {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: maxBodyBytes)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw ErrorResponse(response: Self.error(.contentTooLarge, kind: "too_large", "the body is over gateway.max_body_bytes (\(maxBodyBytes) bytes)"))
        }
    }

    static func newJobID() -> String { "job-" + UUID().uuidString.prefix(12).lowercased() }

    static func encode(_ value: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: JSONValue], location: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let location { headers[.location] = "/v1/jobs/\(location)" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: encode(.object(object)))))
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, kind: String, _ message: String) -> Response {
        json(status, ["error": .object(["kind": .string(kind), "message": .string(message)])])
    }

    static func openAIError(_ status: HTTPResponse.Status, _ json: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    static func tooManyClients(_ error: GatewayHub.Refused) -> Response {
        var response = Self.error(.serviceUnavailable, kind: "too_many_clients", "this gateway serves at most \(error.maxClients) streams at once (gateway.max_clients)")
        response.headers[.retryAfter] = "1"
        return response
    }
}
