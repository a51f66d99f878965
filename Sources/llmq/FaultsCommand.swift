import ArgumentParser
import Foundation
import LLMQHarness

/// `llmq faults`: the fault suite.
struct FaultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "Run the fault suite: worker processes under kill -9, broker faults, provider faults, bad input and rolling restarts.",
        discussion: """
            Each phase starts a fresh embedded cluster, the provider stand-in and real `llmq worker` processes, \
            injects its faults, and checks with its own consumers that every job ended in a result (none lost), \
            that texts equal their streams, and that no secret appears in any log, result, dead letter or metric. \
            Exits non-zero when a check fails. Figures of a representative run: RELIABILITY.md.
            """
    )

    @Option(name: .customLong("phase"), help: "Phase to run (repeatable): crashes, broker, provider, input, shutdown. Default: all.")
    var phases: [String] = []

    @Flag(help: "Long mode: 2,000 jobs per phase, 10⁵ bad payloads, more restarts.")
    var soak = false

    @Option(help: "Multiply the quick mode's job counts.")
    var scale = 1

    @Option(help: "Seed for the random choices (victims, bad payloads); printed by every run.")
    var seed: UInt64?

    @Flag(help: "Shutdown phase: SIGTERM a replica every 4 s and restart it at once, without waiting for the group to settle.")
    var backToBack = false

    @Option(help: "Also write the reports as JSON to this file.")
    var json: String?

    func run() async throws {
        var options = FaultSuite.Options()
        if !phases.isEmpty {
            options.phases = try phases.map {
                guard let phase = FaultSuite.Phase(rawValue: $0) else { throw ValidationError("unknown phase \($0)") }
                return phase
            }
        }
        options.soak = soak
        options.scale = max(1, scale)
        options.backToBack = backToBack
        if let seed { options.seed = seed }
        // Flushed per line, so progress shows when stdout is a file or a pipe (CI).
        let reports = try await FaultSuite(options: options, log: { print($0); fflush(nil) }).run()
        print("")
        print(FaultReportTable.render(reports))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(reports).write(to: URL(fileURLWithPath: json))
        }
        let failed = reports.filter { !$0.passed }.count
        print("\(reports.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
