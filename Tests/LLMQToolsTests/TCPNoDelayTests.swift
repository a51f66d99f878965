#if canImport(Glibc)
import Glibc
#endif
import LLMQTesting
import Testing

@testable import LLMQTools

@Suite("TCPNoDelay: Nagle off on the process's TCP sockets")
struct TCPNoDelayTests {
    @Test("a listening socket and a connection get TCP_NODELAY; a connection accepted later inherits it")
    func setsAndInherits() throws {
        let server = try #require(LoopbackListener(backlog: 4))
        let listener = server.fd
        defer { close(listener) }
        #expect(!TCPNoDelay.isSet(listener))

        #expect(TCPNoDelay.setOnAllSockets() >= 1)
        #expect(TCPNoDelay.isSet(listener))

        // A connection accepted after the sweep inherits it from the listener (no sweep needed).
        let (client, connected) = server.connectClient()
        defer { close(client) }
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
