import ArgumentParser

/// `llmq`: a Kafka-backed LLM job queue.
@main
struct LLMQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmq",
        abstract: "Turn Kafka into an LLM job queue: workers stream prompt jobs through an LLM provider into chunk events and results.",
        discussion: """
            Quick start: `llmq dev` runs an embedded Kafka (mock cluster), the provider stand-in, a worker and a \
            gateway, enqueues demo prompts and streams their tokens live; open the web page it prints \
            (http://127.0.0.1:8080/). In another terminal: `llmq enqueue "your prompt"`, `llmq tail`, `llmq cancel ID`.
            """,
        subcommands: [
            DevCommand.self, WorkerCommand.self, GatewayCommand.self, EnqueueCommand.self, TailCommand.self, CancelCommand.self, DLQCommand.self, StatusCommand.self,
            DevBrokerCommand.self, MockLLMCommand.self, BenchCommand.self, FaultsCommand.self,
        ]
    )
}
