import Foundation
import LLMQCore
import LLMQKafka
import LLMQProviders
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The floor: a provider stream's per-event work with nothing around it, in its own process
/// (`llmq bench --role floor-client`) so its CPU is measured alone.
///
/// Bare SwiftNIO HTTP/1 keep-alive connections to the stand-in, one request after another on each,
/// and on the event loop, for every body part: `SSEParser` -> the worker's OpenAI decoder ->
/// `ChunkEventEncoder` -> `KafkaProducer.produceNow`, as the worker's `ResponseReader` does. Not
/// here: AsyncHTTPClient, job tasks, the consumer, results, offsets, acknowledgement counting,
/// metrics. So it is the least CPU per chunk event that any design reading each event from a
/// socket could spend on this machine (issue 11, sixth round), set beside the worker's and
/// librdkafka's own (the ceiling).
public enum FloorClient {
    /// What the child reports on its last stdout line, as JSON.
    public struct Report: Codable, Sendable {
        public var jobs: Int
        public var messages: Int
        public var seconds: Double
        public var cpuSeconds: Double
    }

    /// Streams `jobs` chat completions from the stand-in at `port` over `connections` connections and
    /// produces each delta as a chunk event to `topic`; times from the first request to the last
    /// delivery report.
    public static func run(brokers: String, topic: String, port: Int, jobs: Int, connections: Int) async throws -> Report {
        let producer = try await warmProducer(brokers: brokers, topic: topic, label: "llmq.bench.floor")

        let group = MultiThreadedEventLoopGroup.singleton
        let run = Run(producer: producer, topic: topic, port: port, jobs: jobs, done: group.any().makePromise())
        let cpuBefore = selfCPUSeconds()
        let start = wallClockMicros()
        var channels: [any Channel] = []
        // The measurement (last delivery, CPU) is taken before anything is closed; closing is the same either way.
        let measured: Result<(endMicros: Int64, cpuSeconds: Double), any Error>
        do {
            for _ in 0..<max(1, min(connections, jobs)) {
                channels.append(try await ClientBootstrap(group: group)
                    .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHTTPClientHandlers()
                            try channel.pipeline.syncOperations.addHandler(StreamHandler(run: run))
                        }
                    }
                    .connect(host: "127.0.0.1", port: port).get())
            }
            try await run.done.futureResult.get()
            try await run.deliveries.waitForAll(timeout: .seconds(300))
            measured = .success((run.deliveries.lastDeliveryMicros, selfCPUSeconds() - cpuBefore))
        } catch {
            measured = .failure(error)
        }
        for channel in channels { try? await channel.close() }
        await producer.close(timeout: .seconds(5))
        let (end, cpu) = try measured.get()
        return Report(jobs: jobs, messages: run.produced.load(ordering: .relaxed), seconds: Double(end - start) / 1_000_000, cpuSeconds: cpu)
    }

    /// What the connections share: the jobs left to start, the producer and the counts.
    private final class Run: Sendable {
        let producer: KafkaProducer
        let topic: String
        let port: Int
        let jobs: Int
        let unstarted: Atomic<Int>
        let finished = Atomic<Int>(0)
        let produced = Atomic<Int>(0)
        let deliveries = DeliveryCounter()
        let done: EventLoopPromise<Void>

        init(producer: KafkaProducer, topic: String, port: Int, jobs: Int, done: EventLoopPromise<Void>) {
            self.producer = producer
            self.topic = topic
            self.port = port
            self.jobs = jobs
            self.unstarted = Atomic(jobs)
            self.done = done
        }
    }

    /// One connection: a request, its stream read in place, the next request.
    private final class StreamHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        private let run: Run
        private var parser = SSEParser()
        private var decoder = OpenAIStreamDecoder(secrets: Secrets([]))
        private var encoder = ChunkEventEncoder(jobID: "", streamID: "", attempt: 1)
        private var key: [UInt8] = []
        private var seq = 0

        init(run: Run) {
            self.run = run
        }

        func channelActive(context: ChannelHandlerContext) {
            self.startNextJob(context)
        }

        private func startNextJob(_ context: ChannelHandlerContext) {
            let index = self.run.jobs - self.run.unstarted.subtract(1, ordering: .relaxed).oldValue
            guard index < self.run.jobs else { return }
            let id = "bench-\(index)"
            self.key = Array(id.utf8)
            self.encoder = ChunkEventEncoder(jobID: id, streamID: "floor-\(index)", attempt: 1)
            self.parser = SSEParser()
            self.decoder = OpenAIStreamDecoder(secrets: Secrets([]))
            self.seq = 0
            let body = ByteBuffer(string: #"{"model":"mock-1","stream":true,"messages":[{"role":"user","content":"floor job \#(index)"}]}"#)
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions")
            head.headers.add(name: "host", value: "127.0.0.1:\(self.run.port)")
            head.headers.add(name: "content-type", value: "application/json")
            head.headers.add(name: "content-length", value: "\(body.readableBytes)")
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head):
                if head.status != .ok { self.fail(context, HarnessError("the stand-in answered \(head.status.code)")) }
            case .body(let buffer):
                self.parser.append(buffer)
                do {
                    while let event = self.parser.next() {
                        guard let text = try self.decoder.decode(event), !text.isEmpty else { continue }
                        let message = OutgoingMessage(topic: self.run.topic, key: self.key, value: self.encoder.delta(seq: self.seq, text: text))
                        self.seq += 1
                        self.run.deliveries.willProduce()
                        try self.run.producer.produceNow(message, handler: self.run.deliveries)
                        self.run.produced.add(1, ordering: .relaxed)
                    }
                } catch {
                    // A full queue too: the floor does not wait, so it reports instead of measuring a stall.
                    self.fail(context, error)
                }
            case .end:
                guard self.decoder.isComplete else {
                    return self.fail(context, HarnessError("a stream ended without its terminal event"))
                }
                if self.run.finished.add(1, ordering: .relaxed).newValue == self.run.jobs { self.run.done.succeed() }
                self.startNextJob(context)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.fail(context, error)
        }

        private func fail(_ context: ChannelHandlerContext, _ error: any Error) {
            self.run.done.fail(error)
            context.close(promise: nil)
        }
    }
}
