import Synchronization

/// Where a call's text goes, piece by piece, in order.
///
/// Hot path (issue 11): a streaming call reads its response on the connection's event loop and
/// hands each piece over right there, with no task to wake per body part. So `offer` is synchronous
/// and must not block. When the sink cannot take more for now (librdkafka's queue is full) it
/// returns a `DeltaBackpressure`, and the reader stops reading that response until the wait is over.
public protocol DeltaSink: AnyObject, Sendable {
    /// Takes `text` (never empty). Returns nil when the next piece may follow at once, or a wait
    /// that must end before it does. Throws to end the call; the provider rethrows that error.
    func offer(_ text: String) throws -> DeltaBackpressure?
}

/// A wait a sink asks for before it takes the next piece.
public struct DeltaBackpressure: Sendable {
    /// Ends when the sink has room again; throws when the piece it held back could not be taken.
    public let wait: @Sendable () async throws -> Void

    public init(_ wait: @escaping @Sendable () async throws -> Void) {
        self.wait = wait
    }
}

extension DeltaSink {
    /// Offers `text` and waits out any backpressure: for callers off the event loop (whole
    /// responses, other providers, tests).
    public func deliver(_ text: String) async throws {
        if let backpressure = try self.offer(text) { try await backpressure.wait() }
    }
}

/// Passes pieces on and remembers whether any arrived and whether the sink failed: decorators
/// must not blame a provider for the caller's own failure (a chunk the broker refused), and may
/// retry a call only while nothing reached the caller.
final class ObservedSink: DeltaSink {
    private let base: any DeltaSink
    private let deliveredFlag = Atomic<Bool>(false)
    private let failedFlag = Atomic<Bool>(false)

    init(_ base: any DeltaSink) {
        self.base = base
    }

    /// Some piece was offered to the caller's sink.
    var delivered: Bool { self.deliveredFlag.load(ordering: .acquiring) }
    /// The caller's sink (or its backpressure wait) threw.
    var failed: Bool { self.failedFlag.load(ordering: .acquiring) }

    func offer(_ text: String) throws -> DeltaBackpressure? {
        self.deliveredFlag.store(true, ordering: .releasing)
        do {
            guard let backpressure = try self.base.offer(text) else { return nil }
            return DeltaBackpressure {
                do { try await backpressure.wait() } catch {
                    self.failedFlag.store(true, ordering: .releasing)
                    throw error
                }
            }
        } catch {
            self.failedFlag.store(true, ordering: .releasing)
            throw error
        }
    }
}
