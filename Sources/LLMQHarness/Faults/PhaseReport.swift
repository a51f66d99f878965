import LLMQCore
import LLMQMockLLM

/// What one phase of the fault suite saw.
public struct PhaseReport: Sendable, Codable {
    public var phase: String
    public var jobs = 0
    public var results = 0
    public var duplicates = 0
    public var lost = 0
    public var faultsInjected = 0
    public var seconds = 0.0
    public var secretLeaks = 0
    /// Checks that failed, each a sentence.
    public var failures: [String] = []
    /// Facts worth printing (counts by status, exits seen, ...).
    public var notes: [String] = []

    public var passed: Bool { failures.isEmpty && lost == 0 && secretLeaks == 0 }

    init(phase: String) { self.phase = phase }

    mutating func check(_ condition: Bool, _ failure: @autoclosure () -> String) {
        if !condition { failures.append(failure()) }
    }
}

/// What a job is expected to end as.
struct Expectation {
    var status: JobResult.Status = .succeeded
    /// Exact count of attempts (calls less throttled ones), when the phase knows it.
    var attempts: Int?
    /// The stand-in's reply length, for text checks of succeeded jobs.
    var words: Int
    var directive = ""
}

extension PhaseReport {
    /// Checks every expected job against the results: none lost, statuses and attempts as expected,
    /// and each succeeded result's text equal to the stand-in's reply and to its own stream's deltas.
    mutating func verify(_ expected: [String: Expectation], in environment: FaultEnvironment, maxFailuresListed: Int = 10) async {
        await environment.waitForStreamsOfResults()
        jobs = expected.count
        let all = environment.results.messages.compactMap { JobResult.decode($0.value) }
        results = all.count
        let byJob = Dictionary(grouping: all.filter { $0.jobID != nil }, by: { $0.jobID! })
        let streams = Dictionary(grouping: environment.chunks.messages.compactMap { ChunkEvent.decode($0.value) }, by: \.streamID)
        var listed = 0
        func fail(_ text: String) {
            listed += 1
            if listed <= maxFailuresListed { failures.append(text) } else if listed == maxFailuresListed + 1 { failures.append("(more failures not listed)") }
        }
        // Every stream ends exactly once, whatever happened to its job.
        for (streamID, events) in streams {
            let terminals = events.filter(\.isFinal)
            if terminals.count > 1 { fail("stream \(streamID) ended \(terminals.count) times: \(terminals.map(\.typeName))") }
        }
        for (id, expectation) in expected.sorted(by: { $0.key < $1.key }) {
            guard let forJob = byJob[id], !forJob.isEmpty else {
                lost += 1
                fail("\(id): no result (lost)")
                continue
            }
            duplicates += forJob.count - 1
            if forJob.count > 1, notes.filter({ $0.hasPrefix("repeat:") }).count < 5 {
                notes.append("repeat: \(id): " + forJob.map { "\($0.streamID ?? "?") p\($0.source.partition)/o\($0.source.offset) \($0.timing.totalMs) ms" }.joined(separator: " then "))
            }
            // The last result is the job's final word; earlier ones are repeats after a crash or rebalance.
            for result in forJob {
                if result.status != expectation.status {
                    fail("\(id): status \(result.status.rawValue), expected \(expectation.status.rawValue) (\(result.error?.kind ?? ""))")
                }
                // Throttled calls (429, exhausted quota) are waited out and do not count as attempts.
                let counted = result.attempts - (result.throttledCalls ?? 0)
                if let attempts = expectation.attempts, counted != attempts {
                    fail("\(id): \(counted) attempts (\(result.attempts) calls), expected \(attempts)")
                }
                guard result.status == .succeeded else { continue }
                let reply = MockReply.pieces(for: FaultEnvironment.prompt(id: id, directive: expectation.directive), words: expectation.words).joined()
                if result.text != reply { fail("\(id): text differs from the stand-in's reply") }
                guard let streamID = result.streamID, let events = streams[streamID]?.sorted(by: { $0.seq < $1.seq }) else {
                    fail("\(id): no chunk events for its stream"); continue
                }
                let deltas = events.compactMap { if case .delta(let text) = $0.kind { text } else { nil } }.joined()
                let complete = events.map(\.seq) == Array(0..<events.count)
                    && { if case .start = events.first?.kind { true } else { false } }()
                    && { if case .end = events.last?.kind { true } else { false } }()
                if !complete { fail("\(id): stream \(streamID) is not start, seq 0… without gaps, end") }
                // The gap check a consumer can make: the result (and the `end`) carry the stream's event count.
                if result.streamEvents != events.count {
                    fail("\(id): stream \(streamID) has \(events.count) events in the topic, its result says \(result.streamEvents.map(String.init) ?? "nothing")")
                }
                if deltas != result.text { fail("\(id): stream \(streamID) deltas differ from the result text") }
            }
        }
    }
}
