import AsyncHTTPClient
import Synchronization

/// Several `HTTPClient`s on one event loop group, handed out in turn, so that no connection pool
/// holds more than a few hundred connections.
///
/// Why: AsyncHTTPClient's pool state machine (1.37) copies its whole list of connections on every
/// pool event (a request scheduled, a connection created, one going idle): it takes the HTTP/1
/// state out of an enum, mutates it and puts it back, so the list is never uniquely referenced
/// and every mutation is a full copy. With one pool and thousands of open streams, each call then
/// costs O(open connections): a profile of 5,000 streams started at once had a third of the
/// worker's start-up CPU in the pool's state machine copying arrays, O(n²) in all.
/// Shards of at most `connectionsPerShard` connections keep that copy small. The shards share the
/// event loops (no extra threads); one shard is exactly the plain client.
public final class HTTPClientShards: Sendable {
    /// At most this many of `worker.concurrency`'s connections per pool, when the count is automatic.
    public static let connectionsPerShard = 256

    public let clients: [HTTPClient]
    private let turn = Atomic<Int>(0)
    private let owned: Bool

    /// `shards` clients (at least one) with `configuration`, on the process-wide event loop group;
    /// `shutdown()` shuts them down.
    public init(shards: Int, configuration: HTTPClient.Configuration) {
        clients = (0..<max(1, shards)).map { _ in HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration) }
        owned = true
    }

    /// One shard: a client the caller owns (and shuts down).
    public init(_ client: HTTPClient) {
        clients = [client]
        owned = false
    }

    /// The automatic number of shards for `concurrency` calls at once: one per `connectionsPerShard`.
    public static func automaticCount(concurrency: Int) -> Int {
        max(1, (concurrency + connectionsPerShard - 1) / connectionsPerShard)
    }

    /// The next client, in turn.
    public func next() -> HTTPClient {
        guard clients.count > 1 else { return clients[0] }
        return clients[turn.wrappingAdd(1, ordering: .relaxed).oldValue % clients.count]
    }

    /// Shuts down the clients this created (not one passed in).
    public func shutdown() async throws {
        guard owned else { return }
        for client in clients { try await client.shutdown() }
    }
}
