import Synchronization

/// Wraps a provider with the stream fallback (`StreamFallbackPolicy`): after too many interrupted
/// streams, calls that ask for a stream are made without one (the whole text arrives as one delta)
/// until a quiet period has passed. Such completions say `streamFallback`.
public struct StreamFallbackProvider: Provider {
    public let base: any Provider
    public var name: String { self.base.name }
    private let shared: Shared
    private let stopwatch: Stopwatch
    private let onTransition: @Sendable (StreamFallbackState.Transition) -> Void

    /// - Parameters:
    ///   - stopwatch: the clock the window and the quiet period are measured on.
    ///   - onTransition: called (outside the lock) when calls stop or resume streaming: logs and metrics.
    public init(
        _ base: any Provider,
        policy: StreamFallbackPolicy,
        stopwatch: Stopwatch = Stopwatch(),
        onTransition: @escaping @Sendable (StreamFallbackState.Transition) -> Void = { _ in }
    ) {
        self.base = base
        self.shared = Shared(StreamFallbackState(policy: policy))
        self.stopwatch = stopwatch
        self.onTransition = onTransition
    }

    /// True while calls that ask for a stream are made without one.
    public var isFallingBack: Bool { self.shared.state.withLock { $0.isFallingBack } }

    public func complete(
        _ request: ProviderRequest,
        timeouts: Timeouts,
        into sink: any DeltaSink
    ) async throws -> ProviderCompletion {
        guard request.stream else { return try await self.base.complete(request, timeouts: timeouts, into: sink) }
        let (mayStream, resumed) = self.shared.state.withLock { $0.mayStream(at: self.stopwatch.elapsed) }
        if let resumed { self.onTransition(resumed) }
        if mayStream {
            // The caller's own failures (a chunk the broker refused) say nothing about the stream.
            let observed = ObservedSink(sink)
            do {
                return try await self.base.complete(request, timeouts: timeouts, into: observed)
            } catch let error as ProviderError where !observed.failed && !Task.isCancelled
                && StreamFallbackPolicy.isInterruption(error.code)
            {
                let stopped = self.shared.state.withLock { $0.interrupted(at: self.stopwatch.elapsed) }
                if let stopped { self.onTransition(stopped) }
                throw error
            }
        }
        var whole = request
        whole.stream = false
        var completion = try await self.base.complete(whole, timeouts: timeouts, into: sink)
        completion.streamFallback = true
        return completion
    }

    /// The state every copy of this provider shares.
    private final class Shared: Sendable {
        let state: Mutex<StreamFallbackState>
        init(_ state: StreamFallbackState) { self.state = Mutex(state) }
    }
}
