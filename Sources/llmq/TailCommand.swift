import ArgumentParser
import LLMQTools
import LLMQWorker
import Logging

/// `llmq tail`: follow the chunk topic and render jobs' text live.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Follow the chunk topic and show each job's text as it streams (the latest stream of each job).",
        discussion: "On a terminal, a board of the latest jobs redrawn in place; piped, one line per finished job. --job prints one job's text as it comes, then exits when it ends."
    )

    @OptionGroup var client: ClientOptions

    @Option(help: "Follow only this job, print its text as it streams, and exit when its stream ends.")
    var job: String?

    @Flag(help: "Start from the beginning of the topic instead of from now on.")
    var fromBeginning = false

    func run() async throws {
        let configuration = try client.resolve()
        var logger = Logger(label: "llmq.tail")
        logger.logLevel = .error
        var kafka = configuration.kafka
        kafka["group.id"] = nil
        let tailer = ChunkTailer(kafka: kafka, topic: configuration.chunksTopic, jobID: job, fromBeginning: fromBeginning || job != nil)
        let renderer = TailRenderer(singleJob: job != nil)
        let single = job != nil
        try await tailer.run(logger: logger) { event, view in
            renderer.show(event, view)
            // With one job: stop once its latest stream ended for good.
            if single, case .end? = view.finished { return false }
            if single, case .abort(_, false)? = view.finished { return false }
            return true
        }
    }
}
