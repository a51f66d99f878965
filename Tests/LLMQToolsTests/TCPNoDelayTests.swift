#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import LLMQTools

@Suite("TCPNoDelay: Nagle off on the process's TCP sockets")
struct TCPNoDelayTests {
    @Test("a listening socket and a connection get TCP_NODELAY; a connection accepted later inherits it")
    func setsAndInherits() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        #expect(bound == 0)
        #expect(listen(listener, 4) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        #expect(!TCPNoDelay.isSet(listener))

        #expect(TCPNoDelay.setOnAllSockets() >= 1)
        #expect(TCPNoDelay.isSet(listener))

        // A connection accepted after the sweep inherits it from the listener (no sweep needed).
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) } }
        #expect(connected == 0)
        let accepted = accept(listener, nil, nil)
        #expect(accepted >= 0)
        defer { close(accepted) }
        #expect(TCPNoDelay.isSet(accepted))
        #expect(!TCPNoDelay.isSet(client))
        TCPNoDelay.setOnAllSockets()
        #expect(TCPNoDelay.isSet(client))
    }
}
