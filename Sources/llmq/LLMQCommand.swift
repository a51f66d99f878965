import ArgumentParser

/// `llmq`: a Kafka-backed LLM job queue.
@main
struct LLMQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmq",
        abstract: "Turn Kafka into an LLM job queue: workers stream prompt jobs through an LLM provider into chunk events and results.",
        discussion: """
            Quick start: `llmq dev` runs an embedded Kafka (mock cluster), the provider stand-in and a worker, \
            enqueues demo prompts and streams their tokens live. In another terminal: `llmq enqueue "your prompt"` \
            and `llmq tail`.
            """,
        subcommands: [
            DevCommand.self, WorkerCommand.self, GatewayCommand.self, EnqueueCommand.self, TailCommand.self, CancelCommand.self, DLQCommand.self, StatusCommand.self,
            DevBrokerCommand.self, MockLLMCommand.self, BenchCommand.self, FaultsCommand.self,
        ]
    )
}
