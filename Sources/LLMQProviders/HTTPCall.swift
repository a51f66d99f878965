import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// Runs one HTTP request of a provider call under a `CallWatchdog`, on the shared `HTTPClient`.
///
/// The response handler runs in a child task racing the watchdog: when a limit fires (or the caller
/// is cancelled) the child is cancelled, which makes AsyncHTTPClient cancel the request and close
/// the connection at once. The handler is non-escaping; it is only ever called by that one child
/// task, which the task group awaits before `perform` returns, so no call outlives `perform`.
struct HTTPCall: Sendable {
    let client: HTTPClient
    let secrets: Secrets
    let logger: Logger
    /// One executor per event loop of the client's group, made once: calls pick one in turn.
    private let executors: [EventLoopTaskExecutor]

    init(client: HTTPClient, secrets: Secrets, logger: Logger) {
        self.client = client
        self.secrets = secrets
        self.logger = logger
        self.executors = client.eventLoopGroup.makeIterator().map(EventLoopTaskExecutor.init)
    }

    /// The executor of the group's next loop (round robin, as the group itself hands them out).
    private func nextExecutor() -> EventLoopTaskExecutor {
        let loop = self.client.eventLoopGroup.next()
        return self.executors.first { $0.eventLoop === loop } ?? EventLoopTaskExecutor(loop)
    }

    /// Wraps an error thrown by the caller's `onDelta`, so it passes through unchanged.
    struct DeltaFailure: Error {
        let underlying: any Error
    }

    /// Not inlined: a call's async frames stay allocated for as long as the stream is open, so the
    /// task group's state lives in this frame only, not in every provider's (issue 11).
    @inline(never)
    func perform<T: Sendable>(
        _ request: HTTPClientRequest,
        body: ByteBuffer,
        timeouts: Timeouts,
        streaming: Bool,
        onSent: (@Sendable () -> Void)? = nil,
        handle: (HTTPClientResponse, CallWatchdog) async throws -> T
    ) async throws -> T {
        let watchdog = CallWatchdog(timeouts: timeouts, streaming: streaming)
        var prepared = request
        // A streamed body tells us when the connection is up: AsyncHTTPClient pulls it only after
        // the request head went out. That is what lets the connect limit be per call.
        prepared.body = .stream(SignallingBody(buffer: body, watchdog: watchdog, onSent: onSent), length: .known(Int64(body.readableBytes)))
        let request = prepared
        let client = self.client
        let call = self
        let executor = self.nextExecutor()
        do {
            return try await withoutActuallyEscaping(handle) { handle in
                let handler = UncheckedHandler(handle: handle)
                return try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask {
                        try await watchdog.run()
                        return nil
                    }
                    // The response is read on an event loop of the client's group: AsyncHTTPClient
                    // asks `any()` for the request's preferred loop, which is this task's own loop.
                    group.addTask(executorPreference: executor) {
                        var headReceived = false
                        do {
                            // No logger for AsyncHTTPClient: its request logs could carry the URL (ERNIE's holds the token).
                            let response = try await client.execute(request, deadline: watchdog.totalDeadline)
                            headReceived = true
                            watchdog.connected()
                            return try await handler.handle(response, watchdog)
                        } catch {
                            throw call.map(error, afterHead: headReceived)
                        }
                    }
                    while let outcome = try await group.next() {
                        if let value = outcome {
                            group.cancelAll()
                            return value
                        }
                    }
                    throw CancellationError()
                }
            }
        } catch let failure as DeltaFailure {
            throw failure.underlying
        } catch {
            if Task.isCancelled {
                throw ProviderError(code: .cancelled, message: "the call was cancelled")
            }
            throw self.map(error, afterHead: true)
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
        for try await var chunk in response.body {
            let room = limit - collected.readableBytes
            if room <= 0 { continue }
            if chunk.readableBytes > room { chunk = chunk.getSlice(at: chunk.readerIndex, length: room)! }
            collected.writeBuffer(&chunk)
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

/// The caller's non-escaping handler made callable from the one child task that uses it.
/// `@unchecked Sendable` is safe: exactly one task calls it, sequentially, and the task group
/// ends that task before `withoutActuallyEscaping` returns.
private struct UncheckedHandler<T>: @unchecked Sendable {
    let handle: (HTTPClientResponse, CallWatchdog) async throws -> T
}

/// A one-buffer request body that marks the connection as established when it is first pulled.
struct SignallingBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer
    let watchdog: CallWatchdog
    /// Told with the watchdog: the connection is up and the request head went out.
    var onSent: (@Sendable () -> Void)?

    struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        let watchdog: CallWatchdog
        let onSent: (@Sendable () -> Void)?

        mutating func next() async -> ByteBuffer? {
            guard let buffer = self.buffer else { return nil }
            self.buffer = nil
            self.watchdog.connected()
            self.onSent?()
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(buffer: self.buffer, watchdog: self.watchdog, onSent: self.onSent)
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
