import Foundation
import LLMQCore
import LLMQKafka
@testable import LLMQGateway
import Testing

/// The hub and its window without sockets: fan-out, the stream rule, backlog, slow clients, bounds.
@Suite struct GatewayHubTests {
    static let topics = GatewayHub.Topics(jobs: "j", chunks: "c", results: "r", control: "x")

    static func chunk(_ job: String, _ stream: String, _ seq: Int, _ kind: ChunkEvent.Kind, attempt: Int = 1) -> ConsumerMessage {
        ConsumerMessage(topic: "c", partition: 0, offset: 0, key: Array(job.utf8),
                        value: ChunkEvent(jobID: job, streamID: stream, attempt: attempt, seq: seq, kind: kind).encoded())
    }

    static func result(_ job: String, text: String) -> ConsumerMessage {
        let result = JobResult(jobID: job, status: .succeeded, text: text, timing: .init(queuedMs: 0, firstChunkMs: 0, totalMs: 1),
                               source: .init(topic: "j", partition: 0, offset: 0))
        return ConsumerMessage(topic: "r", partition: 0, offset: 0, key: Array(job.utf8), value: try! result.encoded())
    }

    /// A result naming the stream it came from, as the worker writes it.
    static func result(_ job: String, stream: String, status: JobResult.Status = .succeeded) -> ConsumerMessage {
        var result = JobResult(jobID: job, status: status, text: "", timing: .init(queuedMs: 0, firstChunkMs: 0, totalMs: 1),
                               source: .init(topic: "j", partition: 0, offset: 0))
        result.streamID = stream
        return ConsumerMessage(topic: "r", partition: 0, offset: 0, key: Array(job.utf8), value: try! result.encoded())
    }

    static func names(_ client: ClientStream) async -> [String] {
        var names: [String] = []
        while case .events(let events) = await client.next() {
            for event in events {
                let text = String(buffer: event.frame)
                names.append(text.split(separator: "\n").first { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) } ?? "?")
            }
            if names.last == "result" { break }
        }
        return names
    }

    @Test func newAttemptResetsAndOldStreamsAreIgnored() async throws {
        let hub = GatewayHub(topics: Self.topics, maxClients: 10, clientBufferBytes: 1 << 20, windowJobs: 10, window: .seconds(60))
        let client = try hub.follow(job: "a", resume: nil)
        hub.apply(Self.chunk("a", "s1", 0, .start))
        hub.apply(Self.chunk("a", "s1", 1, .delta("x")))
        hub.apply(Self.chunk("a", "s1", 2, .abort(reason: "cut", retrying: true)))
        hub.apply(Self.chunk("a", "s2", 0, .start, attempt: 2))
        hub.apply(Self.chunk("a", "s1", 1, .delta("stale")))  // an old stream's repeat: ignored
        hub.apply(Self.chunk("a", "s2", 1, .delta("y")))
        hub.apply(Self.chunk("a", "s2", 1, .delta("y")))  // a repeat: ignored
        hub.apply(Self.chunk("a", "s2", 2, .end(finishReason: "stop")))
        hub.apply(Self.result("a", text: "y"))
        #expect(await Self.names(client) == ["reset", "delta", "abort", "reset", "delta", "end", "result"])
        #expect(await client.next().isEnd)
        let record = try #require(hub.record("a"))
        #expect(record.text == "y")
        #expect(record.attempt == 2)
        // A late joiner: only the current stream, then the result.
        let late = try hub.follow(job: "a", resume: nil)
        #expect(await Self.names(late) == ["reset", "delta", "end", "result"])
        let resumed = try hub.follow(job: "a", resume: .chunk(streamID: "s2", seq: 1))
        #expect(await Self.names(resumed) == ["end", "result"])
        let otherStream = try hub.follow(job: "a", resume: .chunk(streamID: "s1", seq: 1))
        #expect(await Self.names(otherStream) == ["reset", "delta", "end", "result"])
    }

    @Test("a result read before its stream's final event waits for it, so the stream ends with abort, then the result")
    func resultWaitsForItsStreamsFinalEvent() async throws {
        let hub = GatewayHub(topics: Self.topics, maxClients: 10, clientBufferBytes: 1 << 20, windowJobs: 10, window: .seconds(60),
                             resultHold: .seconds(600))
        let client = try hub.follow(job: "a", resume: nil)
        hub.apply(Self.chunk("a", "s1", 0, .start))
        hub.apply(Self.chunk("a", "s1", 1, .delta("x")))
        hub.apply(Self.result("a", stream: "s1", status: .cancelled))
        #expect(hub.record("a")?.result == nil, "held: its stream has not ended here yet")
        hub.apply(Self.chunk("a", "s1", 2, .abort(reason: "cancelled", retrying: false)))
        #expect(await Self.names(client) == ["reset", "delta", "abort", "result"])
        #expect(await client.next().isEnd)
        #expect(hub.record("a")?.result != nil)
    }

    @Test("a result whose stream already ended, or that names none, is delivered at once")
    func resultAfterItsStreamsEndIsNotHeld() throws {
        let hub = GatewayHub(topics: Self.topics, maxClients: 10, clientBufferBytes: 1 << 20, windowJobs: 10, window: .seconds(60),
                             resultHold: .seconds(600))
        hub.apply(Self.chunk("a", "s1", 0, .start))
        hub.apply(Self.chunk("a", "s1", 1, .end(finishReason: "stop")))
        hub.apply(Self.result("a", stream: "s1"))
        #expect(hub.record("a")?.result != nil)
        hub.apply(Self.result("b", text: "no stream"))
        #expect(hub.record("b")?.result != nil)
    }

    @Test("a result whose stream's final event never arrives here is delivered after the hold")
    func heldResultIsDeliveredAfterTheHold() async throws {
        let hub = GatewayHub(topics: Self.topics, maxClients: 10, clientBufferBytes: 1 << 20, windowJobs: 10, window: .seconds(60),
                             resultHold: .milliseconds(50))
        let client = try hub.follow(job: "a", resume: nil)
        // This gateway started following after the stream's start and end: it sees only the result.
        hub.apply(Self.result("a", stream: "s0"))
        #expect(await Self.names(client) == ["result"])
        #expect(hub.record("a")?.result != nil)
    }

    @Test func slowClientIsDroppedWithAFinalEvent() async throws {
        let hub = GatewayHub(topics: Self.topics, maxClients: 10, clientBufferBytes: 4096, windowJobs: 10, window: .seconds(60))
        let slow = try hub.follow(job: "a", resume: nil)
        hub.apply(Self.chunk("a", "s1", 0, .start))
        for seq in 1...200 { hub.apply(Self.chunk("a", "s1", seq, .delta(String(repeating: "z", count: 40)))) }
        guard case .end(let final?) = await slow.next() else {
            Issue.record("the slow client was not dropped")
            return
        }
        #expect(String(buffer: final).contains("slow_client"))
        #expect(hub.clientCount == 1, "still counted until its response ends")
        hub.leave(slow)
        #expect(hub.clientCount == 0)
        // The window kept every event for the next joiner.
        #expect(hub.record("a")?.events.count == 201)
    }

    @Test func windowKeepsAtMostWindowJobs() throws {
        let hub = GatewayHub(topics: Self.topics, maxClients: 10, clientBufferBytes: 4096, windowJobs: 3, window: .seconds(60))
        for job in ["a", "b", "c", "d"] { hub.apply(Self.chunk(job, "s-\(job)", 0, .start)) }
        #expect(hub.record("a") == nil)
        #expect(hub.recent(10).map(\.id) == ["d", "c", "b"])
        #expect(hub.claim("d") == false, "a known id is a repeat")
        #expect(hub.claim("e") == true)
    }

    @Test func windowDropsIdleJobs() throws {
        let now = Mutex<Int64>(0)
        let hub = GatewayHub(topics: Self.topics, maxClients: 10, clientBufferBytes: 4096, windowJobs: 100, window: .seconds(60),
                             clock: { now.withLock { $0 } })
        hub.apply(Self.chunk("old", "s", 0, .start))
        now.withLock { $0 = 61_000 }
        hub.apply(Self.chunk("new", "s2", 0, .start))
        #expect(hub.record("old") == nil)
        #expect(hub.record("new") != nil)
    }

    @Test func clientLimit() throws {
        let hub = GatewayHub(topics: Self.topics, maxClients: 1, clientBufferBytes: 4096, windowJobs: 10, window: .seconds(60))
        let one = try hub.followAll()
        #expect(throws: GatewayHub.Refused.self) { try hub.follow(job: "x", resume: nil) }
        hub.leave(one)
        _ = try hub.follow(job: "x", resume: nil)
    }

    @Test func bearerComparison() {
        let auth = BearerAuth<GatewayRequestContext>(tokens: ["0123456789abcdef", "fedcba9876543210"])
        #expect(auth.accepts(Array("0123456789abcdef".utf8)))
        #expect(auth.accepts(Array("fedcba9876543210".utf8)))
        #expect(!auth.accepts(Array("0123456789abcdeg".utf8)))
        #expect(!auth.accepts(Array("0123456789abcde".utf8)))
        #expect(!auth.accepts(Array("0123456789abcdef0".utf8)))
        #expect(!auth.accepts([]))
    }
}

extension ClientStream.Next {
    var isEnd: Bool { if case .end = self { true } else { false } }
}

import Synchronization

extension GatewayHubTests {
    @Test func windowKeepsAboutWindowBytes() throws {
        let hub = GatewayHub(topics: Self.topics, maxClients: 10, clientBufferBytes: 4096, windowJobs: 1000, window: .seconds(60),
                             windowBytes: 64 << 10)
        for job in 0..<50 {
            hub.apply(Self.chunk("j\(job)", "s", 0, .start))
            for seq in 1...20 { hub.apply(Self.chunk("j\(job)", "s", seq, .delta(String(repeating: "w", count: 50)))) }
        }
        #expect(hub.windowBytes <= 64 << 10)
        #expect(hub.record("j49")?.events.count == 21, "the newest job is whole")
        #expect(hub.record("j0") == nil, "the oldest left")
    }
}
