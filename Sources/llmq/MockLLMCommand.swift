import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMQMockLLM
import Logging
import ServiceLifecycle

/// `llmq mock-llm`: runs the provider stand-in until SIGINT/SIGTERM.
struct MockLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-llm",
        abstract: "Serve the OpenAI and ERNIE wire formats with deterministic replies and injectable faults.",
        discussion: """
            Per-request faults can also be set by a directive in the last user message, e.g.
            "hello [[mock words=5 gap_ms=20 fail=429 retry_after=1 fail_times=2]]" (see MockDirective).

            Rate limits (--requests-per-second, --tokens-per-second) are shared by every caller: one token \
            bucket per limit holding one second of its rate, starting full and refilling continuously, so a \
            burst of one second's worth passes and then admissions follow the rate. A request costs 1 request \
            and its prompt's words plus max_tokens (else its reply's words) in tokens; a refused request costs \
            nothing. Beyond a limit: HTTP 429 {"error":{"type":"requests"|"tokens","code":"rate_limit_exceeded"}} \
            with retry-after (whole seconds, rounded up) and retry-after-ms. Every answer to an admitted or \
            refused request carries x-ratelimit-limit-, x-ratelimit-remaining- and x-ratelimit-reset-requests \
            (and -tokens) for the limits that are set; limit is per minute (as OpenAI states it), reset is the time until \
            the bucket is full again ("120ms", "1s"). ERNIE requests answer error_code 18 (requests) or \
            336502 (tokens) instead.

            --quota-requests N: after N admitted requests, HTTP 429 {"error":{"type":"insufficient_quota",\
            "code":"insufficient_quota"}} without Retry-After (ERNIE: error_code 17) until \
            `curl -X POST http://HOST:PORT/mock/quota/reset[?requests=M]` refills it (to N, or M). \
            GET /mock/stats returns the counters as JSON (requests, throttled, quota_refused, ...).
            """
    )

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: Int = 8089

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Words per reply.")
    var words: Int = 50

    @Option(name: .customLong("first-chunk-delay-ms"), help: "Delay before the first event, in milliseconds.")
    var firstChunkDelayMs: Int = 0

    @Option(name: .customLong("gap-ms"), help: "Gap between events, in milliseconds.")
    var gapMs: Int = 0

    @Option(help: "Answer every request with this HTTP status.")
    var fail: Int?

    @Option(name: .customLong("fail-times"), help: "Faults hit only the first N requests with the same prompt.")
    var failTimes: Int?

    @Option(name: .customLong("retry-after"), help: "Retry-After seconds sent with failures.")
    var retryAfter: Int?

    @Option(name: .customLong("cut-after"), help: "End every stream after K deltas without its terminal event.")
    var cutAfter: Int?

    @Option(name: .customLong("malformed-after"), help: "Send a non-JSON event after K deltas.")
    var malformedAfter: Int?

    @Option(help: "Go silent: 'first' (before the first event) or 'mid' (after the first delta).")
    var hang: String?

    @Option(name: .customLong("ernie-error"), help: "ERNIE error_code to answer with.")
    var ernieError: Int?

    @Option(name: .customLong("error-after"), help: "Send the error mid-stream after K deltas.")
    var errorAfter: Int?

    @Option(name: .customLong("requests-per-second"), help: "Rate limit for all callers together, in chat requests per second (token bucket of one second's worth; default: none).")
    var requestsPerSecond: Int?

    @Option(name: .customLong("tokens-per-second"), help: "Rate limit for all callers together, in tokens per second (prompt words + max_tokens, else reply words; default: none).")
    var tokensPerSecond: Int?

    @Option(name: .customLong("quota-requests"), help: "After N admitted requests answer 429 insufficient_quota until POST /mock/quota/reset (default: no quota).")
    var quotaRequests: Int?

    @Flag(help: "Prefix every delta with '@<unix microseconds>|' for latency measurement.")
    var stamp = false

    @Flag(name: .customLong("one-write"), help: "With no gap and no stream fault, write each reply's events in one write (events arrive many to a read).")
    var oneWrite = false

    func validate() throws {
        if let hang, MockFaults.Hang(rawValue: hang) == nil {
            throw ValidationError("--hang must be 'first' or 'mid'")
        }
        for (name, value) in [("--requests-per-second", requestsPerSecond), ("--tokens-per-second", tokensPerSecond), ("--quota-requests", quotaRequests)] {
            if let value, value < 0 { throw ValidationError("\(name) must be 0 or more") }
        }
    }

    func run() async throws {
        let configuration = MockLLMConfiguration(
            host: self.host,
            port: self.port,
            words: self.words,
            firstChunkDelay: .milliseconds(self.firstChunkDelayMs),
            gap: .milliseconds(self.gapMs),
            faults: MockFaults(
                failStatus: self.fail,
                retryAfterSeconds: self.retryAfter,
                failTimes: self.failTimes,
                cutAfter: self.cutAfter,
                malformedAfter: self.malformedAfter,
                hang: self.hang.flatMap(MockFaults.Hang.init(rawValue:)),
                ernieError: self.ernieError,
                errorAfter: self.errorAfter
            ),
            stampDeltas: self.stamp,
            requestsPerSecond: self.requestsPerSecond,
            tokensPerSecond: self.tokensPerSecond,
            quotaRequests: self.quotaRequests,
            oneWrite: self.oneWrite
        )
        let logger = Logger(label: "llmq.mock-llm")
        let server = MockLLMServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            services: [MockLLMService(server: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
    }
}

/// Runs the mock as a `Service`, so the ServiceGroup's signal handling stops it.
private struct MockLLMService: Service {
    let server: MockLLMServer

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.server.run { port in
                print("mock-llm listening on http://127.0.0.1:\(port)")
                // Scripts wait for this line on a pipe, where stdout is block-buffered.
                fflush(nil)
            }
        }
    }
}
