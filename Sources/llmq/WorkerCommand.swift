import ArgumentParser
import Foundation
import LLMQTools
import LLMQWorker
import Logging

/// `llmq worker`: consume jobs and stream them through the provider until SIGTERM/SIGINT.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: jobs topic → LLM provider (streaming, bounded concurrency, retries) → chunk events, results, dead letters.",
        discussion: """
            Settings come from the config file, then LLMQ_* environment variables (LLMQ_ + the key upper-cased with \
            dots as underscores, e.g. LLMQ_WORKER_CONCURRENCY, LLMQ_TOPIC_DEAD_LETTER, LLMQ_KAFKA_SASL_PASSWORD; in a \
            kafka.* key an underscore of the librdkafka property is doubled: kafka.log_level is LLMQ_KAFKA_LOG__LEVEL), \
            then --set key=value; later ones win. An unknown key or a bad value stops start-up with a message naming \
            it and exit status 78, as does a metrics.port that another process already listens on. See worker.conf.
            """
    )

    @Option(name: .shortAndLong, help: "The worker.conf file.")
    var config: String?

    @Option(name: .shortAndLong, help: "Override a setting, as key=value (repeatable), e.g. --set worker.concurrency=8.")
    var set: [String] = []

    func run() async throws {
        let configuration: WorkerConfiguration
        configuration = try CLIConfiguration.load { try WorkerConfiguration.load(file: config, overrides: set) }
        let logger = CLILogging.bootstrap(level: configuration.logLevel, label: "llmq.worker")
        let host = configuration.metricsHost
        do {
            try await WorkerRuntime.run(configuration, logger: logger) { port in
                logger.info("metrics listening", metadata: ["url": "http://\(host):\(port)/metrics"])
            }
        } catch let error as ConfigurationError {
            // Found at start-up against the cluster (a missing topic): a configuration error too.
            FileHandle.standardError.write(Data("llmq: \(error)\n".utf8))
            throw ExitCode(78)
        } catch let error as MetricsServer.StartError {
            // A setting names an address this machine cannot serve: a configuration problem, exit 78 like the others.
            FileHandle.standardError.write(Data("llmq: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }
}

enum CLIConfiguration {
    /// Runs a configuration load; a bad key or value ends the process with its message and
    /// exit status 78 (EX_CONFIG), without a usage dump.
    static func load(_ body: () throws -> WorkerConfiguration) throws -> WorkerConfiguration {
        do {
            return try body()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("llmq: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }
}

enum CLILogging {
    /// Logs to stderr at `level`; stdout stays for command output.
    static func bootstrap(level: String, label: String) -> Logger {
        let logLevel = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = logLevel
        return logger
    }

    /// A client command's logger: errors only, so librdkafka's chatter stays off the output.
    static func quiet(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .error
        return logger
    }
}

/// Options shared by the commands that talk to a broker as a client (enqueue, tail, dlq, status).
struct ClientOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Bootstrap servers. Default: LLMQ_KAFKA_BOOTSTRAP_SERVERS, the config file's, or a running `llmq dev`.")
    var brokers: String?

    @Option(name: .shortAndLong, help: "A worker.conf to read kafka.* settings and topic names from.")
    var config: String?

    @Option(name: .shortAndLong, help: "Override a setting, as key=value (repeatable).")
    var set: [String] = []

    /// The worker configuration these options describe, with bootstrap servers resolved.
    /// - Parameter group: the `kafka.group.id` to use; nil keeps the workers' group (the config's or the
    ///   environment's, else `llmq dev`'s when talking to it, else worker.conf's `llmq-workers`).
    func resolve(group: String? = "llmq-client") throws -> WorkerConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var overrides: [String] = []
        var usesDev = false
        if let brokers {
            overrides.append("kafka.bootstrap.servers=\(brokers)")
        } else if config == nil, environment["LLMQ_KAFKA_BOOTSTRAP_SERVERS"] == nil {
            guard let running = DevEnvironment.runningBootstrap() else {
                throw ValidationError("no broker: pass --brokers, --config, or set LLMQ_KAFKA_BOOTSTRAP_SERVERS (or start `llmq dev`)")
            }
            overrides.append("kafka.bootstrap.servers=\(running)")
            usesDev = true
        }
        if let group {
            overrides.insert("kafka.group.id=\(group)", at: 0)
        } else if config == nil, environment["LLMQ_KAFKA_GROUP_ID"] == nil {
            overrides.insert("kafka.group.id=\(usesDev ? DevEnvironment.group : "llmq-workers")", at: 0)
        }
        return try CLIConfiguration.load { try WorkerConfiguration.load(file: config, overrides: overrides + set) }
    }
}
