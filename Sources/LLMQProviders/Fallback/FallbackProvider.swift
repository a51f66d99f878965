import Synchronization

/// A primary provider with a fallback of its own kind, base URL, model and credentials
/// (`FallbackPolicy`): the fallback serves a job's attempts after its first `afterAttempts`, and
/// every call while the primary's circuit is open (`CircuitBreaker`). Completions and errors of the
/// fallback carry its name and model, so the result names what served it.
public struct FallbackProvider: Provider {
    /// Why the fallback served a call.
    public enum Reason: String, Sendable, Hashable {
        /// A retry after the primary's attempts (`after_attempts`).
        case retry
        /// The primary's circuit is open.
        case circuitOpen = "circuit_open"
    }

    /// What happened, for the log and the metrics.
    public enum Event: Sendable, Hashable {
        case servedByFallback(Reason)
        case circuit(CircuitBreaker.Transition)
    }

    public let primary: any Provider
    public let fallback: any Provider
    /// The model the fallback uses (a job's `model` names one of the primary's); nil: the fallback's default.
    public let fallbackModel: String?
    public let policy: FallbackPolicy
    public var name: String { self.primary.name }
    private let shared: Shared
    private let stopwatch: Stopwatch
    private let onEvent: @Sendable (Event) -> Void

    /// - Parameters:
    ///   - stopwatch: the clock the circuit's cooldown is measured on.
    ///   - onEvent: called (outside the lock) for each call the fallback serves and each circuit change.
    public init(
        primary: any Provider,
        fallback: any Provider,
        fallbackModel: String?,
        policy: FallbackPolicy,
        stopwatch: Stopwatch = Stopwatch(),
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        self.primary = primary
        self.fallback = fallback
        self.fallbackModel = fallbackModel
        self.policy = policy
        self.shared = Shared(CircuitBreaker(failures: policy.circuitFailures, cooldown: policy.circuitCooldown))
        self.stopwatch = stopwatch
        self.onEvent = onEvent
    }

    /// The primary's circuit as it is now.
    public var circuit: CircuitBreaker { self.shared.circuit.withLock { $0 } }

    public func complete(
        _ request: ProviderRequest,
        timeouts: Timeouts,
        into sink: any DeltaSink
    ) async throws -> ProviderCompletion {
        if request.attempt > self.policy.afterAttempts {
            return try await self.viaFallback(request, reason: .retry, timeouts: timeouts, sink: sink)
        }
        let route = self.shared.circuit.withLock { $0.route(at: self.stopwatch.elapsed) }
        if route == .fallback {
            return try await self.viaFallback(request, reason: .circuitOpen, timeouts: timeouts, sink: sink)
        }
        let probe = route == .probe
        // The caller's own failures (a chunk the broker refused) say nothing about the primary.
        let observed = ObservedSink(sink)
        do {
            let completion = try await self.primary.complete(request, timeouts: timeouts, into: observed)
            self.record { $0.primarySucceeded() }
            return completion
        } catch let error as ProviderError where !observed.failed && !Task.isCancelled {
            if error.code == .rateLimited {
                // Busy, not down: rate limits are the budget's business, not the circuit's.
                if probe { self.update { $0.probeAbandoned(at: self.stopwatch.elapsed) } }
            } else if error.isRetryable {
                self.record { $0.primaryFailed(at: self.stopwatch.elapsed, probe: probe) }
            } else {
                // A permanent answer (400, 401, a content rejection): the primary is up.
                self.record { $0.primarySucceeded() }
            }
            throw error
        } catch {
            if probe { self.update { $0.probeAbandoned(at: self.stopwatch.elapsed) } }
            throw error
        }
    }

    private func viaFallback(
        _ request: ProviderRequest,
        reason: Reason,
        timeouts: Timeouts,
        sink: any DeltaSink
    ) async throws -> ProviderCompletion {
        self.onEvent(.servedByFallback(reason))
        var request = request
        request.model = self.fallbackModel
        do {
            var completion = try await self.fallback.complete(request, timeouts: timeouts, into: sink)
            completion.provider = self.fallback.name
            completion.model = completion.model ?? self.fallbackModel
            return completion
        } catch var error as ProviderError {
            error.provider = self.fallback.name
            error.model = self.fallbackModel
            throw error
        }
    }

    private func record(_ change: (inout CircuitBreaker) -> CircuitBreaker.Transition?) {
        if let transition = self.shared.circuit.withLock({ change(&$0) }) { self.onEvent(.circuit(transition)) }
    }

    private func update(_ change: (inout CircuitBreaker) -> Void) {
        self.shared.circuit.withLock { change(&$0) }
    }

    /// The circuit every copy of this provider shares.
    private final class Shared: Sendable {
        let circuit: Mutex<CircuitBreaker>
        init(_ circuit: CircuitBreaker) { self.circuit = Mutex(circuit) }
    }
}
