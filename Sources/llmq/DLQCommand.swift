import ArgumentParser
import Foundation
import LLMQTools
import LLMQWorker
import Logging

/// `llmq dlq`: look at the dead-letter topic and put dead letters back on the jobs topic.
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List dead letters, or replay them onto the jobs topic (retention purges them; there is no purge).",
        subcommands: [List.self, Replay.self]
    )

    /// The configuration the client options name, and its dead-letter topic.
    static func queue(_ client: ClientOptions) throws -> (WorkerConfiguration, DeadLetterQueue) {
        let configuration = try client.resolve()
        let queue = try DeadLetterQueue(kafka: configuration.kafka, topic: configuration.deadLetterTopic,
                                        jobsTopic: configuration.jobsTopic, logger: CLILogging.quiet("llmq.dlq"))
        return (configuration, queue)
    }

    /// Filters shared by `list` and `replay`.
    struct FilterOptions: ParsableArguments {
        @Option(help: "Only this status: failed or invalid.")
        var status: String?

        @Option(help: "Only this error kind (as in the result's error.kind), e.g. http_500.")
        var kind: String?

        @Option(help: "Only this job id.")
        var job: String?

        @Option(help: "Only dead letters written since: an ISO 8601 time or an age (90s, 15m, 2h, 3d).")
        var since: String?

        @Option(help: "Only dead letters written before: an ISO 8601 time or an age.")
        var until: String?

        func filter() throws -> DeadLetterFilter {
            func time(_ text: String?, _ name: String) throws -> Date? {
                guard let text else { return nil }
                guard let date = DeadLetterFilter.parseTime(text) else { throw ValidationError("--\(name): expected an ISO 8601 time or an age like 15m, got \(text)") }
                return date
            }
            if let status, !["failed", "invalid"].contains(status) { throw ValidationError("--status: failed or invalid") }
            return DeadLetterFilter(status: status, errorKind: kind, jobID: job, since: try time(since, "since"), until: try time(until, "until"))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List dead letters: a table on a terminal, JSON lines when piped (or with --json).")

        @OptionGroup var client: ClientOptions
        @OptionGroup var filters: FilterOptions

        @Flag(help: "JSON lines even on a terminal.")
        var json = false

        func run() async throws {
            let (configuration, queue) = try DLQCommand.queue(client)
            let asTable = !json && isatty(STDOUT_FILENO) == 1
            var letters: [DeadLetter] = []
            let read = try await queue.list(try filters.filter()) { letter in
                if asTable { letters.append(letter) } else { print(letter.jsonLine()) }
            }
            if asTable {
                if !letters.isEmpty { print(DeadLetter.table(letters)) }
                print("\(letters.count) of \(read) dead letters in \(configuration.deadLetterTopic)")
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead letters back on the jobs topic, byte for byte, each at most once.",
            discussion: """
                Value, key and the job's own headers are kept; llmq.replays counts the replays of the job and \
                llmq.replay.of=<dlq topic>/<partition>/<offset> names the dead letter. Dead letters that a job on the \
                jobs topic already names are skipped, so running replay twice enqueues once (the check scans the jobs \
                topic as far back as its retention keeps). invalid dead letters fail again unchanged: they are replayed \
                only with --force.
                """)

        @OptionGroup var client: ClientOptions
        @OptionGroup var filters: FilterOptions

        @Flag(help: "Show what would be replayed; produce nothing.")
        var dryRun = false

        @Flag(help: "Also replay invalid dead letters.")
        var force = false

        func run() async throws {
            let (configuration, queue) = try DLQCommand.queue(client)
            var progress: ProgressReporter?
            let summary = try await queue.replay(
                try filters.filter(), dryRun: dryRun, force: force,
                willReplay: { total in
                    if !dryRun { progress = ProgressReporter(label: "replayed", total: total) }
                },
                progress: { progress?.update($0) },
                replayed: { letter in
                    if dryRun { print("would replay \(letter.marker) job \(letter.jobID ?? "-") (\(letter.status), \(letter.errorKind), replays so far \(letter.replays))") }
                })
            let note = "\(summary.matched) matched, \(summary.alreadyReplayed) already replayed, \(summary.invalidSkipped) invalid skipped (--force replays them), \(summary.scannedJobs) jobs scanned"
            if let progress {
                progress.finish(summary.replayed, note: note)
            } else {
                print("\(dryRun ? "would replay" : "replayed") \(summary.replayed) to \(configuration.jobsTopic): \(note)")
            }
        }
    }
}
