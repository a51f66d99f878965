import LLMQTesting
import Testing

@testable import LLMQCore

@Suite("StreamAssembler")
struct StreamAssemblerTests {
    private func start(_ stream: String, attempt: Int = 1, job: String = "job-42") -> ChunkEvent {
        ChunkEvent(jobID: job, streamID: stream, attempt: attempt, seq: 0, kind: .start)
    }

    private func delta(_ stream: String, _ seq: Int, _ text: String, attempt: Int = 1, job: String = "job-42") -> ChunkEvent {
        ChunkEvent(jobID: job, streamID: stream, attempt: attempt, seq: seq, kind: .delta(text))
    }

    private func end(_ stream: String, _ seq: Int, attempt: Int = 1, job: String = "job-42") -> ChunkEvent {
        ChunkEvent(jobID: job, streamID: stream, attempt: attempt, seq: seq, kind: .end(finishReason: "stop"))
    }

    private func abort(_ stream: String, _ seq: Int, attempt: Int = 1, job: String = "job-42") -> ChunkEvent {
        ChunkEvent(jobID: job, streamID: stream, attempt: attempt, seq: seq, kind: .abort(reason: "stream interrupted", retrying: true))
    }

    @Test func deltasInOrder() throws {
        var assembler = StreamAssembler()
        let startedApplied = assembler.apply(start("s1"))
        let started = try #require(startedApplied)
        #expect(started.text == "")
        #expect(started.streamID == "s1")
        #expect(!started.isComplete)
        assembler.apply(delta("s1", 1, "Hel"))
        assembler.apply(delta("s1", 2, "lo, "))
        let lastApplied = assembler.apply(delta("s1", 3, "世界 😀"))
        let last = try #require(lastApplied)
        #expect(last.text == "Hello, 世界 😀")
        let endedApplied = assembler.apply(end("s1", 4))
        let ended = try #require(endedApplied)
        #expect(ended.isComplete)
        #expect(ended.finished == .end(finishReason: "stop"))
        #expect(assembler.jobs["job-42"]?.text == "Hello, 世界 😀")
    }

    @Test func deltasAppliedOutOfOrderRenderInSeqOrder() {
        var rng = SeededRandom(seed: 2024)
        for _ in 0..<200 {
            let count = Int.random(in: 1...40, using: &rng)
            let pieces = (1...count).map { "<\($0)>" }
            var assembler = StreamAssembler()
            assembler.apply(start("s"))
            // Shuffled, with some pieces delivered twice.
            var events = pieces.enumerated().map { delta("s", $0.offset + 1, $0.element) }
            events += events.filter { _ in Int.random(in: 0..<4, using: &rng) == 0 }
            events.shuffle(using: &rng)
            for event in events { assembler.apply(event) }
            #expect(assembler.jobs["job-42"]?.text == pieces.joined())
        }
    }

    @Test func seqOrderIsNumericNotLexicographic() {
        var assembler = StreamAssembler()
        assembler.apply(start("s"))
        for seq in [10, 2, 1, 11, 9, 3, 4, 5, 6, 7, 8] { assembler.apply(delta("s", seq, "\(seq),")) }
        #expect(assembler.jobs["job-42"]?.text == "1,2,3,4,5,6,7,8,9,10,11,")
    }

    @Test func eventsOfOtherStreamsAreIgnored() {
        var assembler = StreamAssembler()
        assembler.apply(start("s2", attempt: 2))
        assembler.apply(delta("s2", 1, "new"))
        let ignored1 = assembler.apply(delta("s1", 1, "old"))
        #expect(ignored1 == nil)
        let ignored2 = assembler.apply(delta("s1", 2, "old"))
        #expect(ignored2 == nil)
        let ignored3 = assembler.apply(end("s1", 3))
        #expect(ignored3 == nil)
        let ignored4 = assembler.apply(abort("s1", 3))
        #expect(ignored4 == nil)
        #expect(assembler.jobs["job-42"]?.text == "new")
        #expect(assembler.jobs["job-42"]?.finished == nil)
        #expect(assembler.jobs["job-42"]?.streamID == "s2")
    }

    @Test func eventsBeforeAnyStartAreIgnored() {
        var assembler = StreamAssembler()
        let ignored5 = assembler.apply(delta("s1", 1, "x"))
        #expect(ignored5 == nil)
        let ignored6 = assembler.apply(end("s1", 2))
        #expect(ignored6 == nil)
        #expect(assembler.jobs.isEmpty)
    }

    @Test func abortThenNewAttemptReplacesTheText() throws {
        var assembler = StreamAssembler()
        assembler.apply(start("w7-3-1187-1"))
        assembler.apply(delta("w7-3-1187-1", 1, "Hel"))
        assembler.apply(delta("w7-3-1187-1", 2, "lo wo"))
        let abortedApplied = assembler.apply(abort("w7-3-1187-1", 3))
        let aborted = try #require(abortedApplied)
        #expect(aborted.finished == .abort(reason: "stream interrupted", retrying: true))
        #expect(!aborted.isComplete)
        #expect(aborted.text == "Hello wo")

        let restartedApplied = assembler.apply(start("w7-3-1187-2", attempt: 2))

        let restarted = try #require(restartedApplied)
        #expect(restarted.text == "")
        #expect(restarted.attempt == 2)
        #expect(restarted.finished == nil)
        assembler.apply(delta("w7-3-1187-2", 1, "Hello"))
        // A late event of the aborted stream does not leak into the new one.
        let ignored7 = assembler.apply(delta("w7-3-1187-1", 4, " LATE"))
        #expect(ignored7 == nil)
        assembler.apply(delta("w7-3-1187-2", 2, " world"))
        let endedApplied = assembler.apply(end("w7-3-1187-2", 3, attempt: 2))
        let ended = try #require(endedApplied)
        #expect(ended.text == "Hello world")
        #expect(ended.isComplete)
        #expect(ended.streamID == "w7-3-1187-2")
    }

    @Test func redeliveryStartsOverWithAttemptOne() {
        var assembler = StreamAssembler()
        assembler.apply(start("w1-0-5-1"))
        assembler.apply(delta("w1-0-5-1", 1, "first processing"))
        assembler.apply(end("w1-0-5-1", 2))
        // Another worker redoes the job: new stream id, attempt counts from 1 again; latest start wins.
        assembler.apply(start("w2-0-5-1"))
        assembler.apply(delta("w2-0-5-1", 1, "second"))
        #expect(assembler.jobs["job-42"]?.text == "second")
        #expect(assembler.jobs["job-42"]?.isComplete == false)
    }

    @Test func jobsAreIndependent() {
        var assembler = StreamAssembler()
        assembler.apply(start("a1", job: "A"))
        assembler.apply(start("b1", job: "B"))
        assembler.apply(delta("a1", 1, "alpha", job: "A"))
        assembler.apply(delta("b1", 1, "beta", job: "B"))
        // The same stream id under another job id is still another job's event.
        let ignored8 = assembler.apply(delta("a1", 2, "!", job: "B"))
        #expect(ignored8 == nil)
        assembler.apply(start("b2", attempt: 2, job: "B"))
        #expect(assembler.jobs["A"]?.text == "alpha")
        #expect(assembler.jobs["B"]?.text == "")
        #expect(assembler.jobs.count == 2)
    }

    @Test func repeatedDeltaIsIdempotent() {
        var assembler = StreamAssembler()
        assembler.apply(start("s"))
        assembler.apply(delta("s", 1, "a"))
        assembler.apply(delta("s", 1, "a"))
        assembler.apply(delta("s", 2, "b"))
        #expect(assembler.jobs["job-42"]?.text == "ab")
    }

    /// A `start` delivered again for the stream already shown names no newer stream: the deltas seen
    /// so far belong to it and must stay (the doc comment promises that repeated delivery renders correctly).
    @Test func repeatedStartOfTheCurrentStreamKeepsItsDeltas() {
        var assembler = StreamAssembler()
        assembler.apply(start("s"))
        assembler.apply(delta("s", 1, "Hel"))
        assembler.apply(delta("s", 2, "lo"))
        assembler.apply(start("s"))
        assembler.apply(delta("s", 3, "!"))
        #expect(assembler.jobs["job-42"]?.text == "Hello!")
    }
}
