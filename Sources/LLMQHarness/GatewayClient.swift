import AsyncHTTPClient
import Foundation
import LLMQProviders
import NIOCore
import NIOHTTP1

/// A client of `llmq gateway` for the tests and the benchmark: JSON requests, and event streams
/// read with llmq's own SSE parser.
public struct GatewayClient: Sendable {
    public let baseURL: String
    public let http: HTTPClient
    public var token: String?

    public init(baseURL: String, http: HTTPClient = .shared, token: String? = nil) {
        self.baseURL = baseURL
        self.http = http
        self.token = token
    }

    public struct Reply: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object (empty when it is not one).
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    }

    /// One request; the whole body is read.
    public func send(_ method: HTTPMethod, _ path: String, json: String? = nil, headers: [(String, String)] = [],
                     timeout: Duration = .seconds(60)) async throws -> Reply {
        let response = try await http.execute(request(method, path, json: json, headers: headers), timeout: .seconds(timeout.components.seconds))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(body.readableBytesView))
    }

    /// Opens an event stream (GET, or POST with `json`). Read its events with `events`.
    public func stream(_ path: String, method: HTTPMethod = .GET, json: String? = nil, lastEventID: String? = nil,
                       headers: [(String, String)] = [], timeout: Duration = .seconds(120)) async throws -> EventStream {
        var headers = headers
        if let lastEventID { headers.append(("Last-Event-ID", lastEventID)) }
        let response = try await http.execute(request(method, path, json: json, headers: headers), timeout: .seconds(timeout.components.seconds))
        return EventStream(status: Int(response.status.code), body: response.body)
    }

    private func request(_ method: HTTPMethod, _ path: String, json: String?, headers: [(String, String)]) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        return request
    }

    /// The events of one response, in order; ends with the response.
    public struct EventStream: AsyncSequence, Sendable {
        public typealias Element = SSEEvent
        public let status: Int
        let body: HTTPClientResponse.Body

        public struct AsyncIterator: AsyncIteratorProtocol {
            var body: HTTPClientResponse.Body.AsyncIterator
            var parser = SSEParser()
            public mutating func next() async throws -> SSEEvent? {
                while true {
                    if let event = parser.next() { return event }
                    guard let chunk = try await body.next() else { return nil }
                    parser.append(chunk)
                }
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: body.makeAsyncIterator()) }

        /// Events until `stop` says so (that event included) or the stream ends.
        public func collect(until stop: (SSEEvent) -> Bool = { _ in false }) async throws -> [SSEEvent] {
            var events: [SSEEvent] = []
            for try await event in self {
                events.append(event)
                if stop(event) { break }
            }
            return events
        }
    }
}

extension SSEEvent {
    /// The data as a JSON object (empty when it is not one).
    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:] }
}
