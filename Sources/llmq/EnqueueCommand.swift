import ArgumentParser
import Foundation
import LLMQKafka
import LLMQTools
import LLMQWorker
import Logging

/// `llmq enqueue`: put jobs on the jobs topic.
struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Enqueue a prompt, or JSON-lines jobs from a file or stdin (--file -).",
        discussion: "Prints the job id of a prompt; with --file, progress and rate on stderr (a line a second when piped) and a summary line. Job format: see DESIGN.md (id, messages or prompt, model, params, stream, deadline, metadata)."
    )

    @OptionGroup var client: ClientOptions

    @Option(help: "Read one JSON job per line from this file ('-' for stdin), sent as they are.")
    var file: String?

    @Option(help: "The job id (default: a random one).")
    var id: String?

    @Option(help: "The model (default: the worker's provider.model).")
    var model: String?

    @Flag(help: "Ask for one non-streaming call.")
    var noStream = false

    @Argument(help: "The prompt.")
    var prompt: [String] = []

    func validate() throws {
        if file == nil && prompt.isEmpty { throw ValidationError("give a prompt, or --file") }
        if file != nil && !prompt.isEmpty { throw ValidationError("give a prompt or --file, not both") }
    }

    func run() async throws {
        let configuration = try client.resolve()
        let logger = CLILogging.quiet("llmq.enqueue")
        let producer = try KafkaProducer(config: configuration.producerKafkaConfig, logger: logger)
        let enqueuer = JobEnqueuer(producer: producer, topic: configuration.jobsTopic)
        if let file {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(file)") }
                text = contents
            }
            let lines = text.split(separator: "\n").map(String.init)
            let progress = ProgressReporter(label: "enqueued", total: lines.count { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
            let count = try await enqueuer.enqueue(lines: lines) { progress.update($0) }
            progress.finish(count, note: "to \(configuration.jobsTopic)")
        } else {
            let id = try await enqueuer.enqueue(prompt: prompt.joined(separator: " "), id: id ?? JobEnqueuer.newID(), model: model, stream: !noStream)
            print(id)
        }
        await producer.close()
    }
}
