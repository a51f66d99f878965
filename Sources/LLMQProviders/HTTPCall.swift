import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Runs one HTTP request of a provider call under a `CallWatchdog`, on the next of the shared
/// `HTTPClientShards`.
///
/// The response is read by a `ResponseReader` (AsyncHTTPClient's delegate API) on the event loop of
/// its connection: a streamed body goes from the channel read through the SSE parser and the
/// provider's decoder to the caller's `DeltaSink` without waking a task per body part. The calling
/// task waits once, for the whole response. When a limit fires, the reader's watchdog timer fails
/// the request; when the caller is cancelled, the request is cancelled; either closes the
/// connection at once.
struct HTTPCall: Sendable {
    let clients: HTTPClientShards
    let secrets: Secrets

    init(clients: HTTPClientShards, secrets: Secrets) {
        self.clients = clients
        self.secrets = secrets
    }

    /// Wraps an error thrown by the caller's sink, so it passes through unchanged.
    struct DeltaFailure: Error {
        let underlying: any Error
    }

    /// What a response came to.
    enum Outcome: Sendable {
        /// A `text/event-stream` answer to a streaming call, read to its terminal event: every
        /// piece went to the sink.
        case streamed(ProviderCompletion)
        /// Anything else (an error status, a whole JSON body): status, headers and the body (at
        /// most 1 MiB; 64 KiB for an error status), for the provider to decode.
        case whole(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer)
    }

    /// Sends a POST and reads its response. A `200` `text/event-stream` answer to a streaming call
    /// is decoded with `decoder` as it arrives; anything else is collected for the caller.
    ///
    /// - Parameters:
    ///   - onSent: told once the request head went out (the connection's set-up is over).
    ///   - onHead: told the status and rate-limit headers of the response head.
    @inline(never)
    func perform<Decoder: StreamEventDecoder>(
        url: String,
        headers: HTTPHeaders,
        body: ByteBuffer,
        timeouts: Timeouts,
        streaming: Bool,
        onSent: (@Sendable () -> Void)?,
        onHead: (@Sendable (RateLimitHeaders) -> Void)?,
        decoder: Decoder,
        sink: any DeltaSink
    ) async throws -> Outcome {
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: .POST, headers: headers, body: .byteBuffer(body))
        } catch {
            throw ProviderError(code: .badRequest, message: "cannot make the request: \(self.secrets.redact(String(describing: error)))")
        }
        let watchdog = CallWatchdog(timeouts: timeouts, streaming: streaming)
        let client = self.clients.next()
        let loop = client.eventLoopGroup.next()
        let reader = ResponseReader(loop: loop, watchdog: watchdog, streaming: streaming, onSent: onSent, onHead: onHead,
                                    decoder: decoder, sink: sink)
        // The reader runs on `loop`, and the pool prefers an idle connection on that loop (then no
        // hop per body part) but takes any idle one: requiring the loop (`.delegateAndChannel`)
        // opened a new connection whenever the idle ones were on the other loop.
        // No logger for AsyncHTTPClient: its request logs could carry the URL (ERNIE's holds the token).
        let task = client.execute(request: request, delegate: reader, eventLoop: .delegate(on: loop),
                                       deadline: watchdog.totalDeadline)
        reader.watch(task)
        do {
            return try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch {
            // A backpressure wait may still run: it must end before the caller touches its sink again.
            await reader.endBackpressure()
            if let failure = error as? DeltaFailure { throw failure.underlying }
            if Task.isCancelled {
                throw ProviderError(code: .cancelled, message: "the call was cancelled")
            }
            throw self.map(error, afterHead: reader.headReceived)
        }
    }

    /// Turns anything thrown while calling into a `ProviderError` whose text holds no secrets.
    func map(_ error: any Error, afterHead: Bool) -> any Error {
        if error is DeltaFailure { return error }
        if var error = error as? ProviderError {
            error.message = self.secrets.redact(error.message)
            return error
        }
        if error is CancellationError || Task.isCancelled {
            return ProviderError(code: .cancelled, message: "the call was cancelled")
        }
        let text = self.secrets.redact(String(describing: error))
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout:
                return ProviderError(code: .timeoutConnect, message: "connect timed out")
            case .deadlineExceeded:
                return ProviderError(code: .timeoutTotal, message: "total time limit exceeded")
            case .readTimeout:
                return ProviderError(code: .timeoutIdle, message: "read timed out")
            case .cancelled:
                return ProviderError(code: .cancelled, message: "the call was cancelled")
            default:
                break
            }
        }
        if afterHead {
            return ProviderError(code: .streamInterrupted, message: "the response broke off: \(text)")
        }
        return ProviderError(code: .connection, message: "request failed: \(text)")
    }

    /// Reads at most `limit` bytes of a (small, usually error) body.
    static func collect(_ response: HTTPClientResponse, limit: Int = 1 << 20) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        for try await chunk in response.body {
            collected.writeBuffer(chunk, keepingAtMost: limit)
        }
        return collected
    }

    /// `Retry-After` in seconds (fractions allowed) or OpenAI's `retry-after-ms`. HTTP-date forms are ignored.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        if let ms = headers.first(name: "retry-after-ms").flatMap({ Double($0.trimmingSpaces) }), ms >= 0 {
            return .milliseconds(Int64(ms))
        }
        if let seconds = headers.first(name: "retry-after").flatMap({ Double($0.trimmingSpaces) }), seconds >= 0 {
            return .milliseconds(Int64(seconds * 1000))
        }
        return nil
    }
}

extension ByteBuffer {
    /// Appends `part` as far as the buffer stays within `limit` bytes; the rest is dropped (a body
    /// is read to its end, but only its first `limit` bytes are kept).
    mutating func writeBuffer(_ part: ByteBuffer, keepingAtMost limit: Int) {
        let room = limit - self.readableBytes
        guard room > 0 else { return }
        var part = part
        if part.readableBytes > room { part = part.getSlice(at: part.readerIndex, length: room)! }
        self.writeBuffer(&part)
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
