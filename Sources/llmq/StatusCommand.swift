import ArgumentParser
import Foundation
import LLMQTools
import LLMQWorker
import Logging

/// `llmq status`: the worker group at a glance.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The worker group: members and their partitions, lag per partition, jobs in flight, dead letters, time to drain.",
        discussion: """
            Members come from the broker (DescribeGroups); each member's metrics are read at http://<its host>:<metrics.port>/metrics \
            or at the --metrics addresses. Where the broker cannot describe groups (the embedded mock cluster of `llmq dev` and \
            `llmq dev-broker`), members come from the --metrics addresses alone (each worker reports its partitions). \
            The rate is the committed offsets' advance over --rate-window (or between --watch refreshes).
            """
    )

    @OptionGroup var client: ClientOptions

    @Option(help: "The consumer group (default: the config's kafka.group.id; llmq-dev with `llmq dev`; else llmq-workers).")
    var group: String?

    @Option(help: "Workers' metrics addresses (host:port or URLs), comma-separated or repeated.")
    var metrics: [String] = []

    @Flag(help: "One JSON object instead of a table.")
    var json = false

    @Flag(help: "Refresh every --interval seconds until Ctrl-C.")
    var watch = false

    @Option(help: "Seconds between --watch refreshes.")
    var interval: Double = 2

    @Option(help: "Seconds between the two snapshots that measure the rate (0: no rate) when not watching.")
    var rateWindow: Double = 3

    func run() async throws {
        let configuration = try client.resolve(group: group)
        guard let group = configuration.kafka["group.id"] else { throw ValidationError("no kafka.group.id to inspect") }
        let collector = try StatusCollector(
            kafka: configuration.kafka, group: group, jobsTopic: configuration.jobsTopic,
            deadLetterTopic: configuration.deadLetterTopic, metricsPort: configuration.metricsPort,
            metricsURLs: metrics.flatMap { $0.split(separator: ",").map(String.init) }, logger: CLILogging.quiet("llmq.status"))
        var previous: GroupStatus?
        if !watch && rateWindow > 0 {
            previous = try await collector.snapshot()
            try await Task.sleep(for: .milliseconds(Int(rateWindow * 1000)))
        }
        let interactive = isatty(STDOUT_FILENO) == 1
        while true {
            var status = try await collector.snapshot()
            if let previous { status.measureRate(since: previous) }
            if json {
                print(status.json())
            } else {
                if watch && interactive { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                print(status.table())
                if watch && !interactive { print() }
            }
            fflush(nil)
            guard watch else { return }
            previous = status
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }
}
