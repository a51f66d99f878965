import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Synchronization

/// Reads one call's response on the event loop of its connection (AsyncHTTPClient's delegate API).
///
/// The hot path: body part -> `SSEParser` -> the provider's `StreamEventDecoder` -> the caller's
/// `DeltaSink`, synchronously, right after the channel read. No task is woken per body part, and
/// nothing here blocks. When the sink asks for a wait (librdkafka's queue is full), the reader
/// returns a future that completes after it, and AsyncHTTPClient stops reading the connection
/// until then. The watchdog is fed a timestamp per body part and one at the first event, and a
/// timer on the same loop asks it, at the earliest deadline that could apply, whether a limit is
/// exceeded; if one is, the request is failed with that limit's error. So a call needs no task of
/// its own: the caller's task waits once, for the whole response.
///
/// Every delegate call runs on `loop` (`.delegate(on:)`), one at a time, so the state
/// needs no lock; `@unchecked Sendable` rests on that. The few fields the calling task reads after
/// the response ended are atomics or behind a lock.
final class ResponseReader<Decoder: StreamEventDecoder>: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = HTTPCall.Outcome

    private enum Mode {
        case awaitingHead
        /// A `text/event-stream` answer to a streaming call.
        case streaming
        /// Anything else: the body is kept, up to `limit` bytes (the rest is read and dropped).
        case collecting(limit: Int)
    }

    private let loop: any EventLoop
    private let watchdog: CallWatchdog
    private let streaming: Bool
    private let onSent: (@Sendable () -> Void)?
    private let onHead: (@Sendable (RateLimitHeaders) -> Void)?
    private let sink: any DeltaSink

    private var mode = Mode.awaitingHead
    private var parser = SSEParser()
    private var decoder: Decoder
    private var sawEvent = false
    private var status = HTTPResponseStatus.ok
    private var headers = HTTPHeaders()
    private var collected = ByteBuffer()
    /// The watchdog's next look, while the request runs.
    private var watch: Scheduled<Void>?
    private var ended = false

    private let headFlag = Atomic<Bool>(false)
    /// The task that waits out the sink's backpressure, while one does.
    private let backpressure = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init(loop: any EventLoop, watchdog: CallWatchdog, streaming: Bool, onSent: (@Sendable () -> Void)?,
         onHead: (@Sendable (RateLimitHeaders) -> Void)?, decoder: Decoder, sink: any DeltaSink) {
        self.loop = loop
        self.watchdog = watchdog
        self.streaming = streaming
        self.onSent = onSent
        self.onHead = onHead
        self.decoder = decoder
        self.sink = sink
    }

    /// Starts the watchdog's timer for `task` (the request this reader reads).
    func watch(_ task: HTTPClient.Task<Response>) {
        self.loop.execute { self.look(task) }
    }

    /// Asks the watchdog now; fails the request when a limit is exceeded, else looks again when it says.
    private func look(_ task: HTTPClient.Task<Response>) {
        guard !self.ended else { return }
        switch self.watchdog.check() {
        case .expired(let code, let limit):
            self.stopWatching()
            task.fail(reason: CallWatchdog.error(code, limit: limit))
        case .lookAgain(let after):
            self.watch = self.loop.scheduleTask(in: .nanoseconds(Int64(clamping: after.nanoseconds))) { self.look(task) }
        }
    }

    private func stopWatching() {
        self.ended = true
        self.watch?.cancel()
        self.watch = nil
    }

    func didReceiveError(task: HTTPClient.Task<Response>, _ error: any Error) {
        self.stopWatching()
    }

    /// True once a response head arrived (a failure after it is a broken stream, not a failed connection).
    var headReceived: Bool { self.headFlag.load(ordering: .acquiring) }

    func didSendRequestHead(task: HTTPClient.Task<Response>, _ head: HTTPRequestHead) {
        // The connection is up and the request went out: the connect limit no longer applies.
        self.watchdog.connected()
        self.onSent?()
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        self.headFlag.store(true, ordering: .releasing)
        self.watchdog.connected()
        self.onHead?(RateLimitHeaders(status: Int(head.status.code), headers: head.headers))
        self.status = head.status
        self.headers = head.headers
        let contentType = head.headers.first(name: "content-type") ?? ""
        if head.status == .ok, self.streaming, contentType.contains("text/event-stream") {
            self.mode = .streaming
        } else {
            self.mode = .collecting(limit: head.status == .ok ? 1 << 20 : 64 * 1024)
        }
        return self.loop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        switch self.mode {
        case .streaming:
            self.watchdog.bodyChunk()
            self.parser.append(buffer)
            return self.readEvents()
        case .collecting(let limit):
            self.collected.writeBuffer(buffer, keepingAtMost: limit)
            return self.loop.makeSucceededVoidFuture()
        case .awaitingHead:
            return self.loop.makeSucceededVoidFuture()
        }
    }

    /// Hands every complete event of the parser's buffer to the decoder and its text to the sink;
    /// stops at a backpressure wait and goes on after it.
    private func readEvents() -> EventLoopFuture<Void> {
        do {
            while let event = self.parser.next() {
                if !self.sawEvent {
                    self.sawEvent = true
                    self.watchdog.firstEvent()
                }
                guard let text = try self.decoder.decode(event), !text.isEmpty else { continue }
                let wait: DeltaBackpressure?
                do { wait = try self.sink.offer(text) } catch { throw HTTPCall.DeltaFailure(underlying: error) }
                if let wait {
                    return self.waitOut(wait).flatMap { self.readEvents() }
                }
            }
            return self.loop.makeSucceededVoidFuture()
        } catch {
            return self.loop.makeFailedFuture(error)
        }
    }

    /// A future that completes when the sink's wait is over (the only task a stream starts, and
    /// only while librdkafka's queue is full).
    private func waitOut(_ wait: DeltaBackpressure) -> EventLoopFuture<Void> {
        let promise = self.loop.makePromise(of: Void.self)
        let waiting = Task {
            do {
                try await wait.wait()
                promise.succeed()
            } catch {
                promise.fail(HTTPCall.DeltaFailure(underlying: error))
            }
        }
        self.backpressure.withLockedValue { $0 = waiting }
        return promise.futureResult
    }

    /// Cancels a backpressure wait that is still running and waits for it to end. The calling task
    /// uses this when the request failed: nothing may still be handing pieces to its sink after.
    func endBackpressure() async {
        guard let waiting = self.backpressure.withLockedValue({ $0 }) else { return }
        waiting.cancel()
        await waiting.value
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        self.stopWatching()
        switch self.mode {
        case .streaming:
            guard self.decoder.isComplete else {
                throw ProviderError(code: .streamInterrupted, message: self.decoder.missingEnd,
                                    partialUsage: self.decoder.completion.usage)
            }
            return .streamed(self.decoder.completion)
        case .collecting, .awaitingHead:
            return .whole(status: self.status, headers: self.headers, body: self.collected)
        }
    }
}
