import Foundation
import HTTPTypes
import Hummingbird
import LLMQCore
import LLMQKafka
import NIOCore
import Synchronization

/// `POST /v1/chat/completions`: the request becomes a job, the answer comes from the chunk topic.
extension GatewayRoutes {
    func chatCompletion(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let bytes: [UInt8]
        do { bytes = try await body(request) } catch let response as ErrorResponse { return response.response }
        let chat: ChatCompletionRequest
        do { chat = try ChatCompletionRequest(json: bytes) } catch {
            return Self.openAIError(.badRequest, ChatCompletionResponse.errorJSON(message: error.message, type: "invalid_request_error",
                                                                                   code: nil, param: error.param))
        }
        let keep = chat.keep || ["true", "1", "yes"].contains(request.headers[Self.keepHeader]?.lowercased() ?? "")
        let jobID = "chat-" + UUID().uuidString.prefix(12).lowercased()
        _ = hub.claim(jobID, prompt: chat.messages.last { $0.role == "user" }?.content)
        let client: ClientStream
        do throws(GatewayHub.Refused) { client = try hub.follow(job: jobID, resume: nil) } catch {
            hub.release(jobID)
            return Self.openAIError(.serviceUnavailable, ChatCompletionResponse.errorJSON(
                message: "too many clients (gateway.max_clients = \(error.maxClients))", type: "server_error", code: "overloaded"))
        }
        do {
            try await producer.send(OutgoingMessage(topic: topics.jobs, key: Array(jobID.utf8), value: chat.jobJSON(id: jobID)))
        } catch {
            hub.leave(client)
            hub.release(jobID)
            return Self.openAIError(.serviceUnavailable, ChatCompletionResponse.errorJSON(
                message: "the job could not be enqueued: \(error)", type: "server_error", code: "enqueue_failed"))
        }
        // A client that leaves before the result cancels its job, unless it asked to keep it.
        let routes = self
        let logger = self.logger
        let watch = DoneFlag()
        context.channel.closeFuture.whenComplete { _ in
            client.disconnect()
            guard !keep, !watch.isDone else { return }
            logger.info("client left before its result; cancelling", metadata: ["job_id": "\(jobID)"])
            Task { try? await routes.requestCancel(jobID) }
        }
        let created = Int(Date().timeIntervalSince1970)
        if chat.stream {
            let hub = self.hub
            return Response(status: .ok, headers: Self.sseHeaders, body: ResponseBody { writer in
                var mapper = ChatCompletionStream(jobID: jobID, created: created, model: chat.model, includeUsage: chat.includeUsage)
                defer { hub.leave(client) }
                loop: while true {
                    switch await client.next() {
                    case .events(let events):
                        var out = ByteBuffer()
                        var ended = false
                        for event in events {
                            for output in mapper.apply(event) {
                                switch output {
                                case .data(let json): out.writeImmutableBuffer(SSEFrame.data(json))
                                case .failed(let json): out.writeImmutableBuffer(SSEFrame.data(json)); ended = true
                                case .done: out.writeString("data: [DONE]\n\n"); ended = true
                                }
                            }
                        }
                        if out.readableBytes > 0 { try await writer.write(out) }
                        if ended { watch.markDone(); break loop }
                    case .end(let final):
                        if final != nil {
                            try await writer.write(SSEFrame.data(ChatCompletionResponse.errorJSON(
                                message: "the client read too slowly and was disconnected", type: "server_error", code: "slow_client")))
                        }
                        break loop
                    }
                }
                try await writer.finish(nil)
            })
        }
        defer { hub.leave(client) }
        while true {
            switch await client.next() {
            case .events(let events):
                for event in events {
                    guard case .result(let result, _) = event.kind else { continue }
                    watch.markDone()
                    guard let result else {
                        return Self.openAIError(.badGateway, ChatCompletionResponse.errorJSON(message: "the job's result could not be read", type: "llmq_error", code: "bad_result"))
                    }
                    guard result.status == .succeeded else {
                        let (type, code, message) = ChatCompletionResponse.describe(result)
                        return Self.openAIError(HTTPResponse.Status(code: ChatCompletionResponse.httpStatus(for: result.status)),
                                                ChatCompletionResponse.errorJSON(message: message, type: type, code: code))
                    }
                    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(
                        bytes: ChatCompletionResponse.completionJSON(jobID: jobID, created: created, requestModel: chat.model, result: result))))
                }
            case .end:
                return Self.openAIError(.serviceUnavailable, ChatCompletionResponse.errorJSON(message: "the gateway stopped before the job ended", type: "server_error", code: "unavailable"))
            }
        }
    }
}

/// Set once a completion has its result, so a later connection close does not cancel the job.
final class DoneFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isDone: Bool { flag.load(ordering: .acquiring) }
    func markDone() { flag.store(true, ordering: .releasing) }
}
