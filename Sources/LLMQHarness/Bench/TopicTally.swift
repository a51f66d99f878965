import Histogram
import LLMQKafka
import LLMQTesting
import Logging
import Synchronization

/// A bench-side consumer that tallies a topic as it arrives instead of keeping it: counts, message
/// timestamps, arrival times, and for stamped chunk events (`llmq mock-llm --stamp`) the latency
/// from the stand-in writing an event to this consumer receiving it.
final class TopicTally: Sendable {
    struct Snapshot: Sendable {
        var count = 0
        /// Messages whose value contains `"status":"succeeded"` (results).
        var succeeded = 0
        /// Smallest and largest message timestamps (producer create time), milliseconds.
        var minTimestampMs: Int64 = .max
        var maxTimestampMs: Int64 = .min
        var firstArrivalMicros: Int64 = 0
        var lastArrivalMicros: Int64 = 0
        /// Stamp → arrival, microseconds.
        var latency = Histogram<UInt64>.latencyMicros()
        /// The same latency split at the chunk event's timestamp (set by the worker's producer when it
        /// hands the event to librdkafka, millisecond resolution): stamp → produce is the worker's part,
        /// produce → arrival is librdkafka's batching, the broker and this consumer's fetch.
        var toProduce = Histogram<UInt64>.latencyMicros()
        var produceToArrival = Histogram<UInt64>.latencyMicros()
        /// Stamp → arrival of the bench's own probes (`KafkaPathProbe`): the Kafka path alone.
        var probeLatency = Histogram<UInt64>.latencyMicros()
        /// Stamp → arrival with its arrival time, for `p99ByTenth`.
        var arrivals: [(at: Int64, micros: UInt64)] = []
        /// Stamp → produce by arrival time, the same way.
        var producedArrivals: [(at: Int64, micros: UInt64)] = []
        /// Per key (job id): first and last arrival, for the number of streams open at once.
        var spans: [String: (first: Int64, last: Int64)] = [:]
        /// The values themselves, when kept.
        var values: [[UInt8]] = []
    }

    private let consumer: KafkaConsumer
    private let store = TallyStore()
    private let reader: Task<Void, Never>

    /// - Parameters:
    ///   - trackKeys: keep each key's first and last arrival time.
    ///   - keepValues: keep every value (for results: their timings).
    init(bootstrapServers: String, topic: String, trackKeys: Bool = false, keepValues: Bool = false) throws {
        // Fetch as soon as anything is there: this consumer's receive time is the latency's end.
        consumer = try makeTopicReader(bootstrapServers: bootstrapServers, topic: topic, groupPrefix: "bench-tally", fetchWaitMs: 1,
                                       extra: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "fetch.error.backoff.ms": "1"])
        let consumer = self.consumer
        let store = self.store
        reader = Task {
                for await message in consumer.messages {
                    let now = wallClockMicros()
                    if let probe = Self.stamp(in: message.value, after: Self.probeMarker) {
                        store.state.withLock { _ = $0.probeLatency.record(UInt64(max(0, now - probe))) }
                        continue
                    }
                    let stamp = Self.stamp(in: message.value)
                    let succeeded = Self.contains(message.value, Self.succeededMarker)
                    let key = trackKeys ? message.keyString : nil
                    store.state.withLock { s in
                        s.count += 1
                        if s.firstArrivalMicros == 0 { s.firstArrivalMicros = now }
                        s.lastArrivalMicros = now
                        if succeeded { s.succeeded += 1 }
                        if let ts = message.timestampMs {
                            s.minTimestampMs = min(s.minTimestampMs, ts)
                            s.maxTimestampMs = max(s.maxTimestampMs, ts)
                        }
                        if keepValues { s.values.append(message.value) }
                        if let stamp {
                            let micros = UInt64(max(0, now - stamp))
                            s.latency.record(micros)
                            s.arrivals.append((now, micros))
                            if let ts = message.timestampMs {
                                let produced = UInt64(max(0, ts * 1000 - stamp))
                                s.toProduce.record(produced)
                                s.producedArrivals.append((now, produced))
                                s.produceToArrival.record(UInt64(max(0, now - ts * 1000)))
                            }
                        }
                        if let key {
                            if let span = s.spans[key] { s.spans[key] = (span.first, now) } else { s.spans[key] = (now, now) }
                        }
                    }
                }
        }
    }

    /// Forgets everything tallied so far (after a warm-up).
    func reset() { store.state.withLock { $0 = Snapshot() } }

    var snapshot: Snapshot { store.state.withLock { $0 } }
    var count: Int { store.state.withLock { $0.count } }
    var assignment: Set<TopicPartition> { consumer.assignment }

    /// Waits until this consumer owns `partitions` partitions, so nothing produced later is read late.
    func waitForAssignment(partitions: Int, timeout: Duration = .seconds(60)) async throws {
        try await waitUntil("the bench consumer's assignment", timeout: timeout) { self.consumer.assignment.count >= partitions }
    }

    /// Waits until `count` messages have arrived.
    func waitFor(count: Int, timeout: Duration) async throws {
        try await waitUntil("\(count) messages", timeout: timeout) { self.count >= count }
    }

    func close() async {
        await consumer.close()
        reader.cancel()
    }

    /// p99 of stamp → arrival in each tenth of the span of arrivals, microseconds: shows whether the
    /// tail belongs to the start-up burst or grows as the run goes on.
    static func p99ByTenth(_ arrivals: [(at: Int64, micros: UInt64)]) -> [UInt64] {
        guard let first = arrivals.first?.at, let last = arrivals.last?.at, last > first else { return [] }
        var tenths = Array(repeating: Histogram<UInt64>.latencyMicros(digits: .two), count: 10)
        for arrival in arrivals {
            let index = min(9, Int((arrival.at - first) * 10 / (last - first)))
            tenths[index].record(arrival.micros)
        }
        return tenths.map { $0.totalCount == 0 ? 0 : $0.valueAtPercentile(99) }
    }

    /// The most streams (keys) open at once: a key is open from its first to its last arrival.
    static func peakOpen(_ spans: [String: (first: Int64, last: Int64)]) -> Int {
        var edges: [(Int64, Int)] = []
        edges.reserveCapacity(spans.count * 2)
        for span in spans.values {
            edges.append((span.first, 1))
            edges.append((span.last, -1))
        }
        edges.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 > $1.1 }
        var open = 0, peak = 0
        for edge in edges {
            open += edge.1
            peak = max(peak, open)
        }
        return peak
    }

    private static let deltaMarker = Array(#""delta":"@"#.utf8)
    private static let probeMarker = Array(KafkaPathProbe.marker.utf8)
    private static let succeededMarker = Array(#""status":"succeeded""#.utf8)

    /// The stand-in's stamp at the start of a delta (`"delta":"@<micros>|...`), if any.
    static func stamp(in value: [UInt8], after marker: [UInt8] = deltaMarker) -> Int64? {
        guard let start = find(value, marker) else { return nil }
        var micros: Int64 = 0
        var index = start + marker.count
        var digits = 0
        while index < value.count, value[index] >= 0x30, value[index] <= 0x39 {
            micros = micros * 10 + Int64(value[index] - 0x30)
            index += 1
            digits += 1
        }
        guard digits > 0, index < value.count, value[index] == UInt8(ascii: "|") else { return nil }
        return micros
    }

    static func contains(_ value: [UInt8], _ marker: [UInt8]) -> Bool { find(value, marker) != nil }

    private static func find(_ value: [UInt8], _ marker: [UInt8]) -> Int? {
        guard value.count >= marker.count else { return nil }
        return value.withUnsafeBufferPointer { bytes -> Int? in
            let first = marker[0]
            var i = 0
            let last = bytes.count - marker.count
            outer: while i <= last {
                if bytes[i] == first {
                    for j in 1..<marker.count where bytes[i + j] != marker[j] { i += 1; continue outer }
                    return i
                }
                i += 1
            }
            return nil
        }
    }
}

/// The tally's state, shared with its reader task.
private final class TallyStore: Sendable {
    let state = Mutex(TopicTally.Snapshot())
}

extension Histogram where Count == UInt64 {
    /// Latencies in microseconds, up to 600 s, to `digits` significant digits (the bench's every latency).
    static func latencyMicros(digits: SignificantDigits = .three) -> Histogram<UInt64> {
        Histogram(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: digits)
    }
}
