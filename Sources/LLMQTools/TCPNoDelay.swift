#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Turns Nagle's algorithm off on this process's TCP sockets: for `llmq dev-broker`, where they
/// are the embedded broker's.
///
/// Why: librdkafka's mock cluster leaves Nagle on for its connections (a real broker turns it
/// off). A producer keeps up to five requests in flight; the mock's answer to the second then waits
/// until the client acknowledges the first, and Linux delays that acknowledgement by up to 40 ms.
/// Measured (issue 11): chunk events at 30,000 a second had a 40 ms tail that the bench's own
/// probe producer, one request at a time, never saw; with one request in flight it was gone.
/// The mock offers no hook for its sockets, so this sets `TCP_NODELAY` on every TCP socket found
/// in `/proc/self/fd`. Once is enough after the cluster started: its listening sockets are among
/// them, and on Linux every connection they accept later inherits the option.
public enum TCPNoDelay {
    /// Sets `TCP_NODELAY` on every TCP socket this process has open; returns how many it changed.
    @discardableResult
    public static func setOnAllSockets() -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return 0 }
        var changed = 0
        for entry in entries {
            guard let fd = Int32(entry), isTCP(fd), !isSet(fd) else { continue }
            var on: Int32 = 1
            if setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 { changed += 1 }
        }
        return changed
    }

    /// Whether Nagle's algorithm is off on `fd`.
    public static func isSet(_ fd: Int32) -> Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0 && value != 0
    }

    /// A stream socket of the IPv4 or IPv6 family (an fd may be closed or reused meanwhile: then no).
    private static func isTCP(_ fd: Int32) -> Bool {
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == Int32(SOCK_STREAM.rawValue) else { return false }
        var address = sockaddr_storage()
        var addressLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &addressLength) }
        }
        return named == 0 && (Int32(address.ss_family) == AF_INET || Int32(address.ss_family) == AF_INET6)
    }
}
