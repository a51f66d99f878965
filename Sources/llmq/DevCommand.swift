import ArgumentParser
import LLMQTools
import LLMQWorker
import Logging

/// `llmq dev`: everything in one process, for trying llmq out.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Embedded Kafka + provider stand-in + worker + gateway in one process; enqueues demo prompts and shows their tokens streaming live.",
        discussion: "Keeps serving until Ctrl-C: open the printed web page (default http://127.0.0.1:8080/), or run `llmq enqueue \"prompt\"` and `llmq tail` in another terminal."
    )

    @Option(name: .shortAndLong, help: "A worker.conf to start from (bootstrap servers and provider are replaced by the embedded ones).")
    var config: String?

    @Option(name: .shortAndLong, help: "Override a setting, as key=value (repeatable).")
    var set: [String] = []

    @Option(help: "Port of the provider stand-in (0: any free port).")
    var mockPort: Int = 0

    @Option(help: "Brokers in the embedded cluster.")
    var brokers: Int = 1

    @Option(help: "Port of the gateway (web page and HTTP API) on 127.0.0.1 (0: any free port; -1: none).")
    var gatewayPort: Int = 8080

    @Flag(help: "Do not enqueue the demo prompts.")
    var noDemo = false

    func run() async throws {
        let logger = CLILogging.bootstrap(level: "warning", label: "llmq.dev")
        try await DevEnvironment.run(.init(configFile: config, overrides: set, mockPort: mockPort, demo: !noDemo, brokers: brokers, gatewayPort: gatewayPort), logger: logger)
    }
}
