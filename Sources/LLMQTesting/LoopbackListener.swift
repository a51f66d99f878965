#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP socket listening on 127.0.0.1 at a free port, for tests that need a listener the
/// system calls can see (a full accept queue, socket options). Close `fd` when done.
public struct LoopbackListener {
    public let fd: Int32
    /// The bound address, port included.
    public var address: sockaddr_in
    public var addressLength: socklen_t { socklen_t(MemoryLayout<sockaddr_in>.size) }

    /// Returns nil when the socket cannot be created, bound or put to listen.
    public init?(backlog: Int32) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard bound == 0, listen(fd, backlog) == 0, named == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
        self.address = address
    }

    /// Connects a new socket to the listener (non-blocking when asked); returns it and connect's result.
    public func connectClient(nonBlocking: Bool = false) -> (fd: Int32, result: Int32) {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if nonBlocking { _ = fcntl(client, F_SETFL, O_NONBLOCK) }
        var address = self.address
        let result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, addressLength) } }
        return (client, result)
    }
}
