import ArgumentParser
import LLMQKafka
import LLMQTools

/// `llmq cancel`: ask the workers to cancel jobs.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel jobs by id: a cancel message on the control topic (topic.control, default llmq.control).",
        discussion: "A running job stops (its stream ends with abort, reason cancelled); a queued one is skipped without a provider call. Either way its result has status cancelled."
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The job ids.")
    var ids: [String]

    func validate() throws {
        if ids.isEmpty || ids.contains(where: \.isEmpty) { throw ValidationError("give one or more job ids") }
    }

    func run() async throws {
        let configuration = try client.resolve()
        let logger = CLILogging.quiet("llmq.cancel")
        try await KafkaProducer.withProducer(config: configuration.producerKafkaConfig, logger: logger) { producer in
            let canceller = JobCanceller(producer: producer, topic: configuration.controlTopic)
            for id in ids {
                try await canceller.cancel(id)
                print("cancel requested: \(id)")
            }
        }
    }
}
