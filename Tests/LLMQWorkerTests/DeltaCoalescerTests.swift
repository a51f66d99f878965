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
        var coalescer = DeltaCoalescer(minBytes: 1000, maxDelay: .milliseconds(1))
        #expect(coalescer.add("a") == nil)
        // The one place a test needs time to pass: the coalescer reads the clock itself.
        try await Task.sleep(for: .milliseconds(5))
        #expect(coalescer.add("b") == "ab")
    }
}
