import Clocks
import Testing

@testable import LLMQWorker

@Suite("DeltaCoalescer")
struct DeltaCoalescerTests {
    @Test func offPassesEveryDeltaThrough() {
        var coalescer = DeltaCoalescer(minBytes: 0, maxDelay: .zero)
        #expect(coalescer.add("a") == "a")
        #expect(coalescer.add("") == "")
        #expect(coalescer.flush() == nil)
    }

    @Test func mergesUntilMinBytesAndFlushesTheRest() {
        var coalescer = DeltaCoalescer(minBytes: 5, maxDelay: .zero)
        #expect(coalescer.add("ab") == nil)
        #expect(coalescer.add("cd") == nil)
        #expect(coalescer.add("e") == "abcde")
        #expect(coalescer.add("日本") == "日本", "6 bytes of UTF-8")
        #expect(coalescer.add("x") == nil)
        #expect(coalescer.flush() == "x")
        #expect(coalescer.flush() == nil)
    }

    @Test func aDeltaArrivingAfterMaxDelayFlushes() async throws {
        let clock = TestClock()
        var coalescer = DeltaCoalescer(minBytes: 1000, maxDelay: .milliseconds(50), clock: clock)
        #expect(coalescer.add("a") == nil)
        await clock.advance(by: .milliseconds(49))
        #expect(coalescer.add("b") == nil, "49 ms after the first waiting delta")
        await clock.advance(by: .milliseconds(1))
        #expect(coalescer.add("c") == "abc", "50 ms after it")
        // The wait starts again with the next delta, not at the flush.
        await clock.advance(by: .seconds(1))
        #expect(coalescer.add("d") == nil)
        await clock.advance(by: .milliseconds(50))
        #expect(coalescer.add("e") == "de")
    }

    @Test func sizeAndDelayTogether() async throws {
        let clock = TestClock()
        var coalescer = DeltaCoalescer(minBytes: 4, maxDelay: .milliseconds(50), clock: clock)
        #expect(coalescer.add("abcd") == "abcd")
        #expect(coalescer.add("e") == nil)
        await clock.advance(by: .milliseconds(60))
        #expect(coalescer.add("f") == "ef")
        #expect(coalescer.flush() == nil)
    }
}
