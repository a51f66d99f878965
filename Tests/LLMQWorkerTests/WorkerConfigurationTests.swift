import Foundation
import LLMQKafka
import LLMQProviders
import Testing

@testable import LLMQWorker

@Suite("WorkerConfiguration")
struct WorkerConfigurationTests {
    static let required = "kafka.bootstrap.servers = 127.0.0.1:9092\nkafka.group.id = g\n"
    static let secret = "sk-SECRET"

    /// Writes `text` to a fresh file in the temporary directory, runs `body` with its path, removes it.
    private func withFile<T>(_ text: String, _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("llmq-test-\(UUID().uuidString).conf")
        try text.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    private func load(_ text: String, environment: [String: String] = [:], overrides: [String] = []) throws -> WorkerConfiguration {
        try withFile(text) { try WorkerConfiguration.load(file: $0, environment: environment, overrides: overrides) }
    }

    /// The error a load throws, or nil (recorded as an issue) when it does not throw one.
    private func loadError(_ text: String, environment: [String: String] = [:], overrides: [String] = [],
                           sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigurationError? {
        do {
            _ = try load(text, environment: environment, overrides: overrides)
            Issue.record("expected a ConfigurationError", sourceLocation: sourceLocation)
            return nil
        } catch let error as ConfigurationError {
            return error
        }
    }

    // MARK: loading

    @Test func defaultsWithOnlyTheRequiredKeys() throws {
        let configuration = try load(Self.required)
        #expect(configuration.kafka["bootstrap.servers"] == "127.0.0.1:9092")
        #expect(configuration.kafka["group.id"] == "g")
        #expect(configuration.jobsTopic == "llmq.jobs")
        #expect(configuration.chunksTopic == "llmq.chunks")
        #expect(configuration.resultsTopic == "llmq.results")
        #expect(configuration.deadLetterTopic == "llmq.jobs.dlq")
        #expect(configuration.concurrency == 64)
        #expect(configuration.maxJobBytes == 1_048_576)
        #expect(configuration.providerKind == .mock)
        #expect(configuration.providerAPIKey == nil)
        #expect(configuration.retry == RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(4), maxBackoff: .seconds(10)))
        #expect(configuration.timeouts == Timeouts(connect: .seconds(10), firstChunk: .seconds(5), idle: .seconds(30), total: .seconds(60)))
        #expect(configuration.logLevel == "info")
    }

    @Test func fileValuesCommentsAndWhitespace() throws {
        let configuration = try load("""
            # a comment
              # an indented comment

            \(Self.required)
            \tworker.concurrency=8\t
            topic.jobs   =   my.jobs
            topic.dead_letter = my.dlq
            worker.max_job_bytes = 4096
            worker.shutdown_grace_ms = 0
            worker.id = w-7_a
            provider.kind = ernie
            provider.base_url = https://aip.baidubce.com/
            provider.model = ernie-4.0
            provider.api_key = AK
            provider.secret_key = SK
            retry.max_attempts = 5
            retry.initial_backoff_ms = 100
            retry.max_backoff_ms = 100
            timeout.first_chunk_ms = 1500
            metrics.port = -1
            log.level = debug
            kafka.linger.ms = 5
            kafka.sasl.username = user=name
            """)
        #expect(configuration.concurrency == 8)
        #expect(configuration.jobsTopic == "my.jobs")
        #expect(configuration.deadLetterTopic == "my.dlq")
        #expect(configuration.maxJobBytes == 4096)
        #expect(configuration.shutdownGrace == .zero)
        #expect(configuration.workerID == "w-7_a")
        #expect(configuration.providerKind == .ernie)
        #expect(configuration.providerBaseURL == "https://aip.baidubce.com")  // trailing slash dropped
        #expect(configuration.providerModel == "ernie-4.0")
        #expect(configuration.providerAPIKey == "AK")
        #expect(configuration.providerSecretKey == "SK")
        #expect(configuration.retry == RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(100)))
        #expect(configuration.timeouts.firstChunk == .milliseconds(1500))
        #expect(configuration.metricsPort == -1)
        #expect(configuration.logLevel == "debug")
        #expect(configuration.kafka["linger.ms"] == "5")
        #expect(configuration.kafka["sasl.username"] == "user=name")  // only the first = splits
    }

    @Test func crlfLineEndingsAreAccepted() throws {
        let text = "# written on Windows\r\n" + Self.required.replacingOccurrences(of: "\n", with: "\r\n") + "worker.concurrency = 3\r\n"
        let configuration = try load(text)
        #expect(configuration.kafka["bootstrap.servers"] == "127.0.0.1:9092")
        #expect(configuration.kafka["group.id"] == "g")
        #expect(configuration.concurrency == 3)
    }

    @Test func noFileAtAll() throws {
        let configuration = try WorkerConfiguration.load(
            file: nil, environment: ["LLMQ_KAFKA_BOOTSTRAP_SERVERS": "h:1", "LLMQ_KAFKA_GROUP_ID": "g"])
        #expect(configuration.kafka["bootstrap.servers"] == "h:1")
        #expect(configuration.kafka["group.id"] == "g")
    }

    @Test func unreadableFileIsNamed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("llmq-missing-\(UUID().uuidString).conf").path
        let error = try #require(throws: ConfigurationError.self) {
            try WorkerConfiguration.load(file: path, environment: [:])
        }
        #expect(error.key == "--config")
        #expect(error.message.contains(path))
    }

    @Test func environmentOverridesAndKafkaProperties() throws {
        let configuration = try load(Self.required + "worker.concurrency = 2\n", environment: [
            "LLMQ_WORKER_CONCURRENCY": "8",
            "LLMQ_KAFKA_SASL_USERNAME": "u",
            "LLMQ_TOPIC_DEAD_LETTER": "dead",
            "LLMQ_WORKER_MAX_JOB_BYTES": "2048",
            "LLMQ_PROVIDER_API_KEY": Self.secret,
            "LLMQ_DEV_STATE_DIR": "/tmp/ignored",  // another command's variable
            "PATH": "/usr/bin", "HOME": "/root",   // not ours at all
        ])
        #expect(configuration.concurrency == 8)
        #expect(configuration.kafka["sasl.username"] == "u")
        #expect(configuration.deadLetterTopic == "dead")
        #expect(configuration.maxJobBytes == 2048)
        #expect(configuration.providerAPIKey == Self.secret)
    }

    @Test func precedenceIsFileThenEnvironmentThenSet() throws {
        let file = Self.required + "worker.concurrency = 2\nprovider.model = from-file\n"
        #expect(try load(file).concurrency == 2)
        let environment = ["LLMQ_WORKER_CONCURRENCY": "8", "LLMQ_PROVIDER_MODEL": "from-env"]
        let fromEnvironment = try load(file, environment: environment)
        #expect(fromEnvironment.concurrency == 8)
        #expect(fromEnvironment.providerModel == "from-env")
        let fromSet = try load(file, environment: environment, overrides: ["worker.concurrency=16", " provider.model = a=b "])
        #expect(fromSet.concurrency == 16)
        #expect(fromSet.providerModel == "a=b")
        // The last --set of a key wins.
        #expect(try load(file, overrides: ["worker.concurrency=4", "worker.concurrency=5"]).concurrency == 5)
        // A bad value in the file is still an error even when a later source would replace it.
        #expect(try loadError(file + "worker.concurrency = 0\n", environment: environment)?.key == "worker.concurrency")
    }

    @Test func environmentNames() {
        #expect(WorkerConfiguration.environmentName(for: "worker.concurrency") == "LLMQ_WORKER_CONCURRENCY")
        #expect(WorkerConfiguration.environmentName(for: "kafka.sasl.password") == "LLMQ_KAFKA_SASL_PASSWORD")
        #expect(WorkerConfiguration.environmentName(for: "topic.dead_letter") == "LLMQ_TOPIC_DEAD_LETTER")
        #expect(WorkerConfiguration.environmentName(for: "kafka.log_level") == "LLMQ_KAFKA_LOG__LEVEL")
    }

    /// Every key has exactly one environment name, and that name reads back as the key: llmq's keys
    /// by table (their documented names keep single underscores), librdkafka's by rule (`_` doubled).
    @Test func environmentNamesAreOneToOne() throws {
        // librdkafka 2.0.2 properties (CONFIGURATION.md), with and without underscores.
        let librdkafka = [
            "kafka.log_level", "kafka.enabled_events", "kafka.bootstrap.servers", "kafka.ssl.key.password",
            "kafka.enable.ssl.certificate.verification", "kafka.sasl.oauthbearer.client.id",
            "kafka.ssl.endpoint.identification.algorithm", "kafka.topic.metadata.refresh.interval.ms",
        ]
        let keys = WorkerConfiguration.knownKeys + librdkafka
        let names = keys.map(WorkerConfiguration.environmentName(for:))
        #expect(Set(names).count == keys.count, "no two keys share a name")
        for (key, name) in zip(keys, names) {
            #expect(try WorkerConfiguration.key(forEnvironmentName: name) == key, "\(name)")
        }
        #expect(try WorkerConfiguration.key(forEnvironmentName: "LLMQ_NO_SUCH_KEY") == nil)
    }

    @Test func underscoredLibrdkafkaPropertiesComeFromTheEnvironment() throws {
        let configuration = try load(Self.required, environment: ["LLMQ_KAFKA_LOG__LEVEL": "7", "LLMQ_TOPIC_DEAD_LETTER": "dlq"])
        #expect(configuration.kafka["log_level"] == "7")
        #expect(configuration.kafka["log.level"] == nil)
        #expect(configuration.deadLetterTopic == "dlq")
        // The single-underscore spelling is a different (unknown) property, and librdkafka says so by name.
        let wrong = try #require(try loadError(Self.required, environment: ["LLMQ_KAFKA_LOG_LEVEL": "7"]))
        #expect(wrong.key == "kafka.log.level")
        // Names no property can have are refused, naming the variable.
        for name in ["LLMQ_KAFKA_LOG___LEVEL", "LLMQ_KAFKA__LOG", "LLMQ_KAFKA_LOG_", "LLMQ_KAFKA_"] {
            let error = try #require(try loadError(Self.required, environment: [name: "1"]), "\(name)")
            #expect(error.key == name)
        }
    }

    @Test func repositoryWorkerConfLoads() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // LLMQWorkerTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // the package
            .appendingPathComponent("worker.conf").path
        #expect(FileManager.default.fileExists(atPath: path), "\(path) is missing")
        let configuration = try WorkerConfiguration.load(file: path, environment: [:])
        #expect(configuration.kafka["bootstrap.servers"] != nil)
        #expect(configuration.kafka["group.id"] != nil)
        #expect(configuration.providerAPIKey == nil)
    }

    // MARK: errors name the key

    @Test(arguments: [
        ("worker.concurency", "8"),
        ("provider.apikey", "x"),
        ("topic", "x"),
        ("Worker.Concurrency", "8"),
    ])
    func unknownKeyIsNamed(key: String, value: String) throws {
        let fromFile = try #require(try loadError(Self.required + "\(key) = \(value)\n"))
        #expect(fromFile.key == key)
        #expect(fromFile.description.contains(key))
        let fromSet = try #require(try loadError(Self.required, overrides: ["\(key)=\(value)"]))
        #expect(fromSet.key == key)
    }

    @Test func unknownEnvironmentVariableIsNamed() throws {
        let error = try #require(try loadError(Self.required, environment: ["LLMQ_WORKER_CONCURENCY": "8"]))
        #expect(error.key == "LLMQ_WORKER_CONCURENCY")
        #expect(error.description.contains("LLMQ_WORKER_CONCURENCY"))
    }

    @Test func lineWithoutEqualsIsNamedByKeyAndLine() throws {
        let error = try #require(try loadError(Self.required + "worker.concurrency 8\n"))
        #expect(error.key == "worker.concurrency (line 3)")
        let unknown = try #require(try loadError(Self.required + "what is this\n"))
        #expect(unknown.key == "line 3")
    }

    @Test func setWithoutEquals() throws {
        let error = try #require(try loadError(Self.required, overrides: ["worker.concurrency"]))
        #expect(error.key == "worker.concurrency")
    }

    static let badValues: [(key: String, value: String)] = [
        ("worker.concurrency", "0"),
        ("worker.concurrency", "-1"),
        ("worker.concurrency", "abc"),
        ("worker.concurrency", ""),
        ("worker.concurrency", "8.5"),
        ("worker.concurrency", "100001"),
        ("worker.concurrency", "99999999999999999999999"),
        ("worker.max_job_bytes", "10"),
        ("worker.shutdown_grace_ms", "-5"),
        ("worker.id", "has space"),
        ("worker.id", "w/1"),
        ("worker.chunk_coalesce_ms", "10001"),
        ("provider.kind", "foo"),
        ("provider.kind", "OpenAI"),
        ("provider.base_url", "not a url"),
        ("provider.base_url", "ftp://example.com"),
        ("provider.base_url", "http://"),
        ("provider.base_url", "localhost:8080"),
        ("provider.model", ""),
        ("topic.jobs", ""),
        ("retry.max_attempts", "0"),
        ("retry.initial_backoff_ms", "soon"),
        ("timeout.total_ms", "0"),
        ("timeout.idle_ms", "-1"),
        ("metrics.port", "65536"),
        ("metrics.host", ""),
        ("log.level", "loud"),
        ("log.level", "INFO"),
        ("gateway.host", ""),
        ("gateway.port", "65536"),
        ("gateway.port", "http"),
        ("gateway.max_body_bytes", "0"),
        ("gateway.max_clients", "0"),
        ("gateway.client_buffer_bytes", "10"),
        ("gateway.window_jobs", "0"),
        ("gateway.window_bytes", "1000"),
        ("gateway.window_ms", "5"),
        ("gateway.heartbeat_ms", "0"),
        ("gateway.cors_origins", "example.com"),
        ("gateway.cors_origins", "https://app.example.com/path"),
        ("gateway.tokens", "short"),
        ("gateway.tokens", "a-good-long-token-0001,,another-long-token-02"),
        ("gateway.tokens", "has a space in the middle!!"),
    ]

    @Test(arguments: badValues)
    func badValueIsNamedFromEverySource(key: String, value: String) throws {
        let fromFile = try #require(try loadError(Self.required + "\(key) = \(value)\n"))
        #expect(fromFile.key == key)
        #expect(fromFile.description.contains(key))
        #expect(fromFile.message.contains(":3"), "the file origin names the line: \(fromFile.message)")

        let name = WorkerConfiguration.environmentName(for: key)
        let fromEnvironment = try #require(try loadError(Self.required, environment: [name: value]))
        #expect(fromEnvironment.key == key)
        #expect(fromEnvironment.message.contains(name))

        let fromSet = try #require(try loadError(Self.required, overrides: ["\(key)=\(value)"]))
        #expect(fromSet.key == key)
    }

    @Test func maxBackoffBelowInitialIsNamed() throws {
        let error = try #require(try loadError(Self.required + "retry.initial_backoff_ms = 5000\nretry.max_backoff_ms = 1000\n"))
        #expect(error.key == "retry.max_backoff_ms")
        // The default max (10 s) below a larger initial is the same mistake.
        #expect(try loadError(Self.required, overrides: ["retry.initial_backoff_ms=20000"])?.key == "retry.max_backoff_ms")
    }

    @Test func requiredKafkaKeys() throws {
        #expect(try loadError("kafka.group.id = g\n")?.key == "kafka.bootstrap.servers")
        #expect(try loadError("kafka.bootstrap.servers = h:1\n")?.key == "kafka.group.id")
    }

    @Test func ernieNeedsCredentials() throws {
        #expect(try loadError(Self.required + "provider.kind = ernie\n")?.key == "provider.access_token")
        #expect(try loadError(Self.required + "provider.kind = ernie\nprovider.api_key = AK\n")?.key == "provider.access_token")
        #expect(try load(Self.required + "provider.kind = ernie\nprovider.access_token = T\n").providerAccessToken == "T")
        // An empty secret counts as unset.
        #expect(try loadError(Self.required + "provider.kind = ernie\nprovider.access_token =\n")?.key == "provider.access_token")
    }

    @Test(arguments: [
        ("kafka.no.such.thing", "1"),
        ("kafka.linger.ms", "abc"),
        ("kafka.acks", "most"),
        ("kafka.security.protocol", "carrier-pigeon"),
    ])
    func invalidLibrdkafkaPropertyIsNamed(key: String, value: String) throws {
        let fromFile = try #require(try loadError(Self.required + "\(key) = \(value)\n"))
        #expect(fromFile.key == key)
        #expect(fromFile.description.contains(key))
        #expect(!fromFile.message.isEmpty)
        let fromSet = try #require(try loadError(Self.required, overrides: ["\(key)=\(value)"]))
        #expect(fromSet.key == key)
    }

    @Test func kafkaPropertyFromEnvironmentIsNamed() throws {
        let error = try #require(try loadError(Self.required, environment: ["LLMQ_KAFKA_NO_SUCH_THING": "1"]))
        #expect(error.key == "kafka.no.such.thing")
    }

    @Test func emptyKafkaPropertyIsAnError() throws {
        let error = try #require(try loadError(Self.required + "kafka. = 1\n"))
        #expect(error.key == "kafka.")
    }

    @Test func kafkaConfigsForConsumerAndProducer() throws {
        let configuration = try load(Self.required + "kafka.enable.auto.offset.store = true\nkafka.auto.offset.reset = latest\nkafka.acks = 1\n")
        let consumer = configuration.consumerKafkaConfig
        #expect(consumer["enable.auto.offset.store"] == "false")  // never the user's choice
        #expect(consumer["auto.offset.reset"] == "latest")        // the user's choice wins over the default
        #expect(consumer["partition.assignment.strategy"] == "cooperative-sticky")
        let producer = configuration.producerKafkaConfig
        #expect(producer["group.id"] == nil)
        #expect(producer["enable.auto.offset.store"] == nil)
        #expect(producer["bootstrap.servers"] == "127.0.0.1:9092")
        #expect(producer["enable.idempotence"] == "true")
        #expect(producer["acks"] == "1")
        #expect(throws: Never.self) { try consumer.validate() }
        #expect(throws: Never.self) { try producer.validate() }
    }

    // MARK: secrets

    @Test func gatewaySettings() throws {
        let defaults = try load(Self.required)
        #expect(defaults.gateway == GatewaySettings())
        #expect(defaults.gateway.port == 8080)
        #expect(defaults.gateway.host == "0.0.0.0")
        #expect(!defaults.gateway.requiresAuth)
        let token = "gw-token-0123456789abcdef"
        let configuration = try load(Self.required + """
            gateway.host = 127.0.0.1
            gateway.port = 9090
            gateway.cors_origins = https://a.example.com, http://localhost:3000
            gateway.max_body_bytes = 4096
            gateway.max_clients = 7
            gateway.client_buffer_bytes = 65536
            gateway.window_jobs = 50
            gateway.window_ms = 60000
            gateway.heartbeat_ms = 500

            """, environment: ["LLMQ_GATEWAY_TOKENS": "\(token), second-token-0123456789"])
        #expect(configuration.gateway.host == "127.0.0.1")
        #expect(configuration.gateway.port == 9090)
        #expect(configuration.gateway.tokens == [token, "second-token-0123456789"])
        #expect(configuration.gateway.requiresAuth)
        #expect(configuration.gateway.corsOrigins == ["https://a.example.com", "http://localhost:3000"])
        #expect(configuration.gateway.maxBodyBytes == 4096)
        #expect(configuration.gateway.maxClients == 7)
        #expect(configuration.gateway.clientBufferBytes == 65536)
        #expect(configuration.gateway.windowJobs == 50)
        #expect(configuration.gateway.window == .seconds(60))
        #expect(configuration.gateway.heartbeat == .milliseconds(500))
        #expect(try load(Self.required, overrides: ["gateway.cors_origins=*"]).gateway.corsOrigins == ["*"])
        // Tokens are secrets: masked in the summary, never echoed by an error.
        #expect(WorkerConfiguration.isSecret("gateway.tokens"))
        let summary = configuration.redactedSummary.joined(separator: "\n")
        #expect(summary.contains("gateway.tokens = *** (2)"))
        #expect(!summary.contains(token))
        let error = try #require(try loadError(Self.required, overrides: ["gateway.tokens=\(token),tiny-secret"]))
        #expect(error.key == "gateway.tokens")
        #expect(!error.description.contains("tiny-secret") && !error.description.contains(token))
    }

    @Test func secretKeys() {
        for key in ["provider.api_key", "provider.secret_key", "provider.access_token", "sasl.password", "ssl.key.password",
                    "ssl.keystore.password", "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config"] {
            #expect(WorkerConfiguration.isSecret(key), "\(key)")
        }
        for key in ["provider.model", "sasl.username", "bootstrap.servers"] {
            #expect(!WorkerConfiguration.isSecret(key), "\(key)")
        }
    }

    /// Every bad value, with the API key set beside it in the file, the environment and on the command line.
    @Test(arguments: badValues)
    func secretNeverLeaksIntoErrors(key: String, value: String) throws {
        let secrets = "provider.api_key = \(Self.secret)\nprovider.secret_key = \(Self.secret)-SK\nkafka.sasl.password = \(Self.secret)-PW\n"
        var errors: [ConfigurationError?] = []
        errors.append(try loadError(Self.required + secrets + "\(key) = \(value)\n"))
        errors.append(try loadError(Self.required + "\(key) = \(value)\n" + secrets))
        errors.append(try loadError(Self.required, environment: ["LLMQ_PROVIDER_API_KEY": Self.secret], overrides: ["\(key)=\(value)"]))
        errors.append(try loadError(Self.required, overrides: ["provider.api_key=\(Self.secret)", "\(key)=\(value)"]))
        for error in errors {
            let error = try #require(error)
            #expect(!error.description.contains(Self.secret), "\(error)")
            #expect(!"\(error)".contains(Self.secret))
        }
    }

    @Test func secretNeverLeaksIntoOtherErrors() throws {
        let secrets = "provider.api_key = \(Self.secret)\n"
        let texts = [
            secrets + "kafka.group.id = g\n",                                            // missing bootstrap
            Self.required + secrets + "provider.kind = ernie\n",                         // ernie without SK
            Self.required + secrets + "kafka.no.such.thing = 1\n",
            Self.required + secrets + "kafka.sasl.pasword = \(Self.secret)\n",           // typo in a kafka secret
            Self.required + "provider.apikey = \(Self.secret)\n",                        // typo in the key
            Self.required + secrets + "retry.initial_backoff_ms = 20000\n",
        ]
        for text in texts {
            let error = try #require(try loadError(text))
            #expect(!error.description.contains(Self.secret), "\(error)")
        }
        let fromEnvironment = try #require(try loadError(Self.required, environment: ["LLMQ_PROVIDER_APIKEY": Self.secret]))
        #expect(!fromEnvironment.description.contains(Self.secret))
    }

    /// A malformed line's text must not be echoed (it may be a secret); only a known key it starts with is named.
    @Test func secretOnAMalformedLineIsNotEchoed() throws {
        for (line, key) in [("provider.api_key \(Self.secret)", "provider.api_key (line 3)"), ("provider.api_key: \(Self.secret)", "provider.api_key (line 3)"),
                            ("LLMQ_PROVIDER_API_KEY \(Self.secret)", "line 3")] {
            let error = try #require(try loadError(Self.required + line + "\n"))
            #expect(error.key == key)
            #expect(!error.description.contains(Self.secret), "\(error)")
        }
    }

    /// Same for a `--set` without `=`.
    @Test func secretInAMalformedSetIsNotEchoed() throws {
        for override in ["provider.api_key:\(Self.secret)", "provider.api_key \(Self.secret)"] {
            let error = try #require(try loadError(Self.required, overrides: [override]))
            #expect(!error.description.contains(Self.secret), "\(error)")
        }
    }

    @Test func redactedSummaryMasksSecrets() throws {
        let configuration = try load(
            Self.required + "provider.api_key = \(Self.secret)\nkafka.sasl.username = alice\nkafka.sasl.password = \(Self.secret)-PW\n"
                + "kafka.ssl.key.password = \(Self.secret)-KEY\n",
            environment: ["LLMQ_PROVIDER_SECRET_KEY": "\(Self.secret)-SK", "LLMQ_PROVIDER_ACCESS_TOKEN": "\(Self.secret)-AT"])
        let summary = configuration.redactedSummary
        for line in summary { #expect(!line.contains(Self.secret), "\(line)") }
        #expect(summary.contains("provider.api_key = ***"))
        #expect(summary.contains("kafka.sasl.password = ***"))
        #expect(summary.contains("kafka.sasl.username = alice"))
        #expect(summary.contains("kafka.bootstrap.servers = 127.0.0.1:9092"))
        #expect(summary.contains("worker.concurrency = 64"))

        let unset = try load(Self.required).redactedSummary
        #expect(unset.contains("provider.api_key = (unset)"))
    }

    @Test func redactedSummaryMasksKafkaSecretsFromTheEnvironment() throws {
        let configuration = try load(Self.required, environment: ["LLMQ_KAFKA_SASL_PASSWORD": Self.secret])
        #expect(configuration.kafka["sasl.password"] == Self.secret)
        #expect(!configuration.redactedSummary.joined(separator: "\n").contains(Self.secret))
    }

    @Test func configurationErrorDescription() {
        let error = ConfigurationError(key: "worker.concurrency", message: "expected an integer")
        #expect(error.description == "configuration error: worker.concurrency: expected an integer")
    }
}
