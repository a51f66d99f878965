import LLMQCore
import Testing

@testable import LLMQProviders

/// The fallback provider: its circuit breaker on elapsed time, and the decorator's routing.
@Suite("Fallback provider")
struct FallbackProviderTests {
    /// The circuit behind a reference, read at whole seconds, so expectations call no mutating methods.
    final class Circuit {
        var breaker: CircuitBreaker
        init(failures: Int, cooldown: Duration) { self.breaker = CircuitBreaker(failures: failures, cooldown: cooldown) }
        var isOpen: Bool { self.breaker.isOpen }
        func route(_ second: Int) -> CircuitBreaker.Route { self.breaker.route(at: .seconds(second)) }
        func failed(_ second: Int, probe: Bool) -> CircuitBreaker.Transition? { self.breaker.primaryFailed(at: .seconds(second), probe: probe) }
        func succeeded() -> CircuitBreaker.Transition? { self.breaker.primarySucceeded() }
        func abandoned(_ second: Int) { self.breaker.probeAbandoned(at: .seconds(second)) }
    }

    @Test func circuitOpensAfterConsecutiveFailuresOnly() {
        let circuit = Circuit(failures: 3, cooldown: .seconds(30))
        #expect(circuit.route(0) == .primary)
        #expect(circuit.failed(1, probe: false) == nil)
        #expect(circuit.failed(2, probe: false) == nil)
        // A success in between starts the count again.
        #expect(circuit.succeeded() == nil)
        #expect(circuit.failed(3, probe: false) == nil)
        #expect(circuit.failed(4, probe: false) == nil)
        #expect(!circuit.isOpen)
        #expect(circuit.failed(5, probe: false) == .opened)
        #expect(circuit.isOpen)
        #expect(circuit.route(6) == .fallback)
        #expect(circuit.route(34) == .fallback)
    }

    @Test func afterTheCooldownOneCallProbesAndItsOutcomeDecides() {
        let circuit = Circuit(failures: 1, cooldown: .seconds(30))
        #expect(circuit.failed(0, probe: false) == .opened)
        #expect(circuit.route(30) == .probe)
        // While the probe runs, the others keep going to the fallback.
        #expect(circuit.route(31) == .fallback)
        // The probe fails: open for another cooldown from now.
        #expect(circuit.failed(32, probe: true) == nil)
        #expect(circuit.route(61) == .fallback)
        #expect(circuit.route(62) == .probe)
        #expect(circuit.succeeded() == .closed)
        #expect(circuit.route(63) == .primary)
    }

    @Test func anAbandonedProbeLetsTheNextCallProbe() {
        let circuit = Circuit(failures: 1, cooldown: .seconds(30))
        _ = circuit.failed(0, probe: false)
        #expect(circuit.route(30) == .probe)
        circuit.abandoned(31)
        #expect(circuit.route(31) == .probe)
    }

    @Test func zeroFailuresNeverOpens() {
        let circuit = Circuit(failures: 0, cooldown: .seconds(30))
        for second in 0..<50 { #expect(circuit.failed(second, probe: false) == nil) }
        #expect(circuit.route(50) == .primary)
    }

    @Test("the fallback serves attempts after after_attempts, with its own model, and says so")
    func retriesGoToTheFallback() async throws {
        let primary = ScriptedProvider("openai", [.fail(.httpStatus)])
        let fallback = ScriptedProvider("fallback:ernie", [.reply("from the fallback")])
        let events = Recorder<FallbackProvider.Event>()
        let provider = FallbackProvider(primary: primary, fallback: fallback, fallbackModel: "ernie-speed",
                                        policy: FallbackPolicy(afterAttempts: 2, circuitFailures: 0),
                                        stopwatch: Stopwatch(clock: SleepRecorder()), onEvent: events.record)
        #expect(provider.name == "openai")
        for attempt in 1...2 { _ = await providerError(provider, fallbackRequest(attempt: attempt)) }
        #expect(primary.requests.count == 2)
        #expect(fallback.requests.isEmpty)

        let (text, completion, _) = try await collect(provider, fallbackRequest(attempt: 3))
        #expect(text == "from the fallback")
        #expect(completion.provider == "fallback:ernie")
        #expect(completion.model == "ernie-speed")
        #expect(fallback.requests.map(\.model) == ["ernie-speed"], "the job's model is the primary's")
        #expect(events.events == [.servedByFallback(.retry)])
    }

    @Test("the fallback's failures carry its name and model")
    func fallbackFailuresAreNamed() async throws {
        let provider = FallbackProvider(primary: ScriptedProvider("openai", [.reply("x")]),
                                        fallback: ScriptedProvider("fallback:mock", [.fail(.connection)]),
                                        fallbackModel: "mock-2", policy: FallbackPolicy(afterAttempts: 1),
                                        stopwatch: Stopwatch(clock: SleepRecorder()))
        let error = try #require(await providerError(provider, fallbackRequest(attempt: 2)))
        #expect(error.code == .connection)
        #expect(error.provider == "fallback:mock")
        #expect(error.model == "mock-2")
        // A primary's completion names no provider: the runner uses the primary's own name.
        let (_, completion, _) = try await collect(provider, fallbackRequest(attempt: 1))
        #expect(completion.provider == nil)
    }

    @Test("an open circuit sends first attempts to the fallback until a probe finds the primary back")
    func circuitRoutesFirstAttempts() async throws {
        let clock = SleepRecorder()
        let primary = ScriptedProvider("openai", [.fail(.connection), .fail(.timeoutConnect), .fail(.connection), .reply("primary again")])
        let fallback = ScriptedProvider("fallback:openai", [.reply("fallback")])
        let events = Recorder<FallbackProvider.Event>()
        let provider = FallbackProvider(primary: primary, fallback: fallback, fallbackModel: "m2",
                                        policy: FallbackPolicy(afterAttempts: 5, circuitFailures: 2, circuitCooldown: .seconds(30)),
                                        stopwatch: Stopwatch(clock: clock), onEvent: events.record)
        _ = await providerError(provider, fallbackRequest())
        _ = await providerError(provider, fallbackRequest())
        #expect(provider.circuit.isOpen)
        #expect(events.events == [.circuit(.opened)])

        let (text, completion, _) = try await collect(provider, fallbackRequest())
        #expect(text == "fallback")
        #expect(completion.provider == "fallback:openai")
        #expect(primary.requests.count == 2, "no call to the primary while its circuit is open")

        // After the cooldown one probe goes to the primary; it fails, so the circuit stays open.
        clock.pass(.seconds(30))
        _ = await providerError(provider, fallbackRequest())
        #expect(primary.requests.count == 3)
        _ = try await collect(provider, fallbackRequest())
        #expect(primary.requests.count == 3)

        clock.pass(.seconds(30))
        let (back, served, _) = try await collect(provider, fallbackRequest())
        #expect(back == "primary again")
        #expect(served.provider == nil)
        #expect(!provider.circuit.isOpen)
        #expect(events.events == [.circuit(.opened), .servedByFallback(.circuitOpen), .servedByFallback(.circuitOpen), .circuit(.closed)])
    }

    @Test("rate limits and permanent errors do not open the circuit")
    func rateLimitsDoNotOpenTheCircuit() async throws {
        let primary = ScriptedProvider("openai", [.fail(.rateLimited), .fail(.rateLimited), .fail(.connection), .fail(.badRequest),
                                                  .fail(.connection)])
        let provider = FallbackProvider(primary: primary, fallback: ScriptedProvider("fallback:mock", [.reply("f")]),
                                        fallbackModel: "m", policy: FallbackPolicy(afterAttempts: 5, circuitFailures: 2),
                                        stopwatch: Stopwatch(clock: SleepRecorder()))
        for _ in 0..<5 { _ = await providerError(provider, fallbackRequest()) }
        #expect(!provider.circuit.isOpen)
        #expect(primary.requests.count == 5)
    }
}
