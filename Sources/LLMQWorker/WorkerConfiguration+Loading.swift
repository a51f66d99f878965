import Foundation
import LLMQKafka
import LLMQProviders

extension WorkerConfiguration {
    /// Where a setting came from, for error messages.
    public enum Origin: Sendable, Hashable, CustomStringConvertible {
        case file(path: String, line: Int)
        case environment(name: String)
        case commandLine
        public var description: String {
            switch self {
            case .file(let path, let line): "\(path):\(line)"
            case .environment(let name): "environment \(name)"
            case .commandLine: "--set"
            }
        }
    }

    /// Loads worker.conf (if given), then `LLMQ_*` environment variables, then `--set key=value`
    /// overrides; later sources win. Any unknown key or bad value throws, naming the key.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: [String] = []) throws -> WorkerConfiguration {
        var settings: [(key: String, value: String, origin: Origin)] = []
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigurationError(key: "--config", message: "cannot read \(file)")
            }
            settings += try parseFile(text).map { ($0.key, $0.value, Origin.file(path: file, line: $0.line)) }
        }
        settings += try environmentSettings(environment)
        for override in overrides {
            guard let eq = override.firstIndex(of: "=") else {
                // The text is not echoed: it may be a secret typed with the wrong separator.
                throw ConfigurationError(key: keyNamed(in: override) ?? "--set", message: "expected key=value, got an argument without '='")
            }
            let key = override[..<eq].trimmingCharacters(in: .whitespaces)
            settings.append((key, String(override[override.index(after: eq)...]).trimmingCharacters(in: .whitespaces), .commandLine))
        }
        var configuration = WorkerConfiguration()
        for setting in settings {
            try configuration.apply(key: setting.key, value: setting.value, origin: setting.origin)
        }
        try configuration.validate()
        return configuration
    }

    /// `key = value` lines; `#` starts a comment line; blank lines are skipped.
    static func parseFile(_ text: String) throws -> [(key: String, value: String, line: Int)] {
        var result: [(String, String, Int)] = []
        // \.isNewline also splits CRLF, which Swift reads as a single Character.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                // The line is not echoed: it may hold a secret written with the wrong separator.
                let key = keyNamed(in: line).map { "\($0) (line \(index + 1))" } ?? "line \(index + 1)"
                throw ConfigurationError(key: key, message: "expected `key = value`")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            result.append((key, value, index + 1))
        }
        return result
    }

    /// The key a malformed setting starts with (text up to ':' or a space), when it is a known key:
    /// keys are safe to print, the rest of the text may be a secret.
    static func keyNamed(in text: some StringProtocol) -> String? {
        let candidate = String(text.prefix { $0 != ":" && $0 != " " && $0 != "\t" })
        return knownKeys.contains(candidate) || (candidate.hasPrefix("kafka.") && candidate.count > 6) ? candidate : nil
    }

    /// The environment variable for a key: `LLMQ_` + the key upper-cased with `.` as `_`
    /// (`worker.concurrency` → `LLMQ_WORKER_CONCURRENCY`, `topic.dead_letter` → `LLMQ_TOPIC_DEAD_LETTER`,
    /// `kafka.sasl.password` → `LLMQ_KAFKA_SASL_PASSWORD`). llmq's own keys are matched by name, so
    /// their underscores stay single. A `kafka.*` key is any librdkafka property, read back by rule,
    /// so a `_` in it is doubled: `kafka.log_level` → `LLMQ_KAFKA_LOG__LEVEL`. Every key has exactly
    /// one name, and `key(forEnvironmentName:)` maps it back.
    public static func environmentName(for key: String) -> String {
        if key.hasPrefix(kafkaPrefix) {
            let property = key.dropFirst(kafkaPrefix.count).replacingOccurrences(of: "_", with: "__")
            return kafkaEnvironmentPrefix + property.uppercased().replacingOccurrences(of: ".", with: "_")
        }
        return "LLMQ_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// The key an `LLMQ_*` environment variable sets: a known llmq key by name, or for
    /// `LLMQ_KAFKA_*` the librdkafka property (lower-cased; `__` → `_`, then `_` → `.`); nil otherwise.
    /// Throws for a `LLMQ_KAFKA_*` name no property can have (`___`, or `_` at either end of the property).
    public static func key(forEnvironmentName name: String) throws -> String? {
        if let key = keysByEnvironmentName[name] { return key }
        guard name.hasPrefix(kafkaEnvironmentPrefix) else { return nil }
        let encoded = name.dropFirst(kafkaEnvironmentPrefix.count)
        guard !encoded.isEmpty, !encoded.contains("___"), encoded.first != "_", encoded.last != "_" else {
            throw ConfigurationError(key: name, message: "cannot be read as a librdkafka property: "
                + "write . as _ and _ as __ (kafka.log_level -> LLMQ_KAFKA_LOG__LEVEL)")
        }
        var property = ""
        var rest = Substring(encoded)
        while let first = rest.first {
            if rest.hasPrefix("__") {
                property.append("_")
                rest = rest.dropFirst(2)
            } else {
                property.append(first == "_" ? "." : first)
                rest = rest.dropFirst()
            }
        }
        return kafkaPrefix + property.lowercased()
    }

    private static let kafkaPrefix = "kafka."
    private static let kafkaEnvironmentPrefix = "LLMQ_KAFKA_"
    private static let keysByEnvironmentName: [String: String] = Dictionary(
        uniqueKeysWithValues: knownKeys.map { (environmentName(for: $0), $0) })

    static func environmentSettings(_ environment: [String: String]) throws -> [(key: String, value: String, origin: Origin)] {
        var result: [(String, String, Origin)] = []
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("LLMQ_") {
            if let key = try key(forEnvironmentName: name) {
                result.append((key, value, .environment(name: name)))
            } else if !ignoredEnvironment.contains(name) {
                throw ConfigurationError(key: name, message: "unknown setting (environment variables map to worker.conf keys, e.g. LLMQ_WORKER_CONCURRENCY)")
            }
        }
        return result
    }

    /// LLMQ_ variables that belong to other commands, not to worker.conf.
    static let ignoredEnvironment: Set<String> = ["LLMQ_DEV_STATE_DIR", "LLMQ_BIN"]

    /// Keys whose values are never printed.
    public static let secretKeys: Set<String> = [
        "provider.api_key", "provider.secret_key", "provider.access_token", "gateway.tokens",
        "provider.fallback.api_key", "provider.fallback.secret_key", "provider.fallback.access_token",
    ]

    /// True for keys whose values must never appear in logs or messages (also librdkafka's secrets).
    public static func isSecret(_ key: String) -> Bool {
        secretKeys.contains(key) || key.hasSuffix("password") || key.hasSuffix("secret") || key.contains("sasl.oauthbearer.config")
            || key.hasSuffix("ssl.key.pem") || key.hasSuffix("ssl_key")
    }

    /// Every key besides `kafka.*` (the docker and Kubernetes checks read it too).
    public static let knownKeys: [String] = [
        "topic.jobs", "topic.chunks", "topic.results", "topic.dead_letter", "topic.control",
        "worker.concurrency", "worker.max_job_bytes", "worker.shutdown_grace_ms", "worker.revoke_grace_ms", "worker.id",
        "worker.chunk_coalesce_bytes", "worker.chunk_coalesce_ms",
        "provider.kind", "provider.base_url", "provider.model", "provider.api_key", "provider.secret_key", "provider.access_token",
        "provider.requests_per_minute", "provider.tokens_per_minute", "provider.adaptive_concurrency", "provider.initial_concurrency",
        "provider.quota_probe_ms", "provider.max_starting_calls", "provider.connection_pools",
        "provider.stream_fallback.interruptions", "provider.stream_fallback.window_ms", "provider.stream_fallback.quiet_ms",
        "provider.fallback.kind", "provider.fallback.base_url", "provider.fallback.model", "provider.fallback.api_key",
        "provider.fallback.secret_key", "provider.fallback.access_token", "provider.fallback.after_attempts",
        "provider.fallback.circuit_failures", "provider.fallback.circuit_cooldown_ms",
        "retry.max_attempts", "retry.initial_backoff_ms", "retry.max_backoff_ms",
        "timeout.connect_ms", "timeout.first_chunk_ms", "timeout.idle_ms", "timeout.total_ms",
        "metrics.host", "metrics.port", "log.level",
        "gateway.host", "gateway.port", "gateway.tokens", "gateway.cors_origins", "gateway.max_body_bytes", "gateway.max_clients",
        "gateway.client_buffer_bytes", "gateway.window_jobs", "gateway.window_bytes", "gateway.window_ms", "gateway.heartbeat_ms",
    ]

    mutating func apply(key: String, value: String, origin: Origin) throws {
        func fail(_ problem: String) -> ConfigurationError {
            ConfigurationError(key: key, message: "\(problem) (from \(origin))")
        }
        func integer(_ range: ClosedRange<Int>) throws -> Int {
            guard let n = Int(value), range.contains(n) else {
                throw fail("expected an integer from \(range.lowerBound) to \(range.upperBound), got \"\(value)\"")
            }
            return n
        }
        func milliseconds(_ range: ClosedRange<Int> = 1...86_400_000) throws -> Duration { .milliseconds(try integer(range)) }
        func nonEmpty() throws -> String {
            guard !value.isEmpty else { throw fail("must not be empty") }
            return value
        }
        func providerKindValue() throws -> ProviderKind {
            guard let kind = ProviderKind(rawValue: value) else {
                throw fail("expected one of \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(value)\"")
            }
            return kind
        }
        func baseURL() throws -> String {
            guard let url = URL(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw fail("expected an http:// or https:// URL")
            }
            return value.hasSuffix("/") ? String(value.dropLast()) : value
        }

        if key.hasPrefix("kafka.") {
            let property = String(key.dropFirst("kafka.".count))
            guard !property.isEmpty else { throw fail("expected kafka.<librdkafka property>") }
            kafka[property] = value
            return
        }
        switch key {
        case "topic.jobs": jobLanes = try JobLane.parse(try nonEmpty(), fail: fail)
        case "topic.chunks": chunksTopic = try nonEmpty()
        case "topic.results": resultsTopic = try nonEmpty()
        case "topic.dead_letter": deadLetterTopic = try nonEmpty()
        case "topic.control": controlTopic = try nonEmpty()
        case "worker.concurrency": concurrency = try integer(1...100_000)
        case "worker.max_job_bytes": maxJobBytes = try integer(64...(64 << 20))
        case "worker.shutdown_grace_ms": shutdownGrace = try milliseconds(0...3_600_000)
        case "worker.revoke_grace_ms": revokeGrace = try milliseconds(0...3_600_000)
        case "worker.id":
            guard !value.isEmpty, value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw fail("expected letters, digits, - or _")
            }
            workerID = value
        case "worker.chunk_coalesce_bytes": chunkCoalesceBytes = try integer(0...1_000_000)
        case "worker.chunk_coalesce_ms": chunkCoalesceDelay = try milliseconds(0...10_000)
        case "provider.kind": providerKind = try providerKindValue()
        case "provider.base_url": providerBaseURL = try baseURL()
        case "provider.model": providerModel = try nonEmpty()
        case "provider.api_key": providerAPIKey = value.isEmpty ? nil : value
        case "provider.secret_key": providerSecretKey = value.isEmpty ? nil : value
        case "provider.access_token": providerAccessToken = value.isEmpty ? nil : value
        case "provider.requests_per_minute": providerRequestsPerMinute = try integer(0...100_000_000).nonZero
        case "provider.tokens_per_minute": providerTokensPerMinute = try integer(0...1_000_000_000_000).nonZero
        case "provider.adaptive_concurrency":
            switch value.lowercased() {
            case "true", "yes", "on", "1": providerAdaptiveConcurrency = true
            case "false", "no", "off", "0": providerAdaptiveConcurrency = false
            default: throw fail("expected true or false, got \"\(value)\"")
            }
        case "provider.initial_concurrency": providerInitialConcurrency = try integer(1...100_000)
        case "provider.quota_probe_ms": providerQuotaProbeInterval = try milliseconds(100...86_400_000)
        case "provider.max_starting_calls": providerMaxStartingCalls = try integer(0...1_000_000)
        case "provider.connection_pools": providerConnectionPools = try integer(0...1024)
        case "provider.stream_fallback.interruptions": streamFallback.interruptions = try integer(0...1_000_000)
        case "provider.stream_fallback.window_ms": streamFallback.window = try milliseconds()
        case "provider.stream_fallback.quiet_ms": streamFallback.quiet = try milliseconds()
        case "provider.fallback.kind": fallback.kind = value.isEmpty ? nil : try providerKindValue()
        case "provider.fallback.base_url": fallback.baseURL = value.isEmpty ? nil : try baseURL()
        case "provider.fallback.model": fallback.model = value.isEmpty ? nil : value
        case "provider.fallback.api_key": fallback.apiKey = value.isEmpty ? nil : value
        case "provider.fallback.secret_key": fallback.secretKey = value.isEmpty ? nil : value
        case "provider.fallback.access_token": fallback.accessToken = value.isEmpty ? nil : value
        case "provider.fallback.after_attempts": fallback.policy.afterAttempts = try integer(1...100)
        case "provider.fallback.circuit_failures": fallback.policy.circuitFailures = try integer(0...1_000_000)
        case "provider.fallback.circuit_cooldown_ms": fallback.policy.circuitCooldown = try milliseconds()
        case "retry.max_attempts": retry.maxAttempts = try integer(1...100)
        case "retry.initial_backoff_ms": retry.initialBackoff = try milliseconds(0...3_600_000)
        case "retry.max_backoff_ms": retry.maxBackoff = try milliseconds(0...3_600_000)
        case "timeout.connect_ms": timeouts.connect = try milliseconds()
        case "timeout.first_chunk_ms": timeouts.firstChunk = try milliseconds()
        case "timeout.idle_ms": timeouts.idle = try milliseconds()
        case "timeout.total_ms": timeouts.total = try milliseconds()
        case "metrics.host": metricsHost = try nonEmpty()
        case "metrics.port": metricsPort = try integer(-1...65535)
        case "log.level":
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value) else {
                throw fail("expected trace, debug, info, notice, warning, error or critical")
            }
            logLevel = value
        case "gateway.host": gateway.host = try nonEmpty()
        case "gateway.port": gateway.port = try integer(0...65535)
        case "gateway.tokens": gateway.tokens = try Self.parseTokens(value, fail: fail)
        case "gateway.cors_origins": gateway.corsOrigins = try Self.parseOrigins(value, fail: fail)
        case "gateway.max_body_bytes": gateway.maxBodyBytes = try integer(1024...(64 << 20))
        case "gateway.max_clients": gateway.maxClients = try integer(1...1_000_000)
        case "gateway.client_buffer_bytes": gateway.clientBufferBytes = try integer(4096...(1 << 30))
        case "gateway.window_jobs": gateway.windowJobs = try integer(1...10_000_000)
        case "gateway.window_bytes": gateway.windowBytes = try integer((1 << 20)...(64 << 30))
        case "gateway.window_ms": gateway.window = try milliseconds(1000...604_800_000)
        case "gateway.heartbeat_ms": gateway.heartbeat = try milliseconds(100...600_000)
        default:
            throw ConfigurationError(key: key, message: "unknown key (from \(origin)); see worker.conf for the keys")
        }
    }

    /// `gateway.tokens`: comma-separated, each at least 16 printable ASCII characters without spaces.
    /// Messages never quote a token.
    static func parseTokens(_ value: String, fail: (String) -> ConfigurationError) throws -> [String] {
        let tokens = value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if value.trimmingCharacters(in: .whitespaces).isEmpty { return [] }
        for (index, token) in tokens.enumerated() {
            guard token.count >= 16, token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw fail("token \(index + 1) must be at least 16 printable ASCII characters without spaces (value not shown)")
            }
        }
        return tokens
    }

    /// `gateway.cors_origins`: `*`, or comma-separated `http(s)://host[:port]` origins without a path.
    static func parseOrigins(_ value: String, fail: (String) -> ConfigurationError) throws -> [String] {
        let origins = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for origin in origins where origin != "*" {
            guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                  url.path.isEmpty, url.query == nil, !origin.hasSuffix("/") else {
                throw fail("expected * or origins like https://app.example.com, got \"\(origin)\"")
            }
        }
        return origins
    }

    /// Cross-key checks, and librdkafka's own verdict on every `kafka.*` property.
    func validate() throws {
        if retry.maxBackoff < retry.initialBackoff {
            throw ConfigurationError(key: "retry.max_backoff_ms", message: "must not be below retry.initial_backoff_ms")
        }
        if kafka["bootstrap.servers"] == nil {
            throw ConfigurationError(key: "kafka.bootstrap.servers", message: "is required")
        }
        if kafka["group.id"] == nil {
            throw ConfigurationError(key: "kafka.group.id", message: "is required")
        }
        switch providerKind {
        case .ernie where providerAccessToken == nil && (providerAPIKey == nil || providerSecretKey == nil):
            throw ConfigurationError(key: "provider.access_token", message: "ERNIE needs provider.access_token, or provider.api_key and provider.secret_key")
        default: break
        }
        try validateFallback()
        do {
            try consumerKafkaConfig.validate()
        } catch let error as KafkaError {
            // librdkafka's message already names the property as kafka.<name>.
            let key = error.message.split(separator: ":").first.map(String.init) ?? "kafka"
            throw ConfigurationError(key: key, message: String(error.message.dropFirst(key.count + 1)).trimmingCharacters(in: .whitespaces))
        }
    }

    /// `provider.fallback.*` is all or nothing: a kind needs a base URL and a model (and ERNIE its
    /// credentials); the other keys without a kind would be ignored silently, so they stop start-up.
    func validateFallback() throws {
        guard let kind = fallback.kind else {
            let set: [(String, Bool)] = [
                ("provider.fallback.base_url", fallback.baseURL != nil), ("provider.fallback.model", fallback.model != nil),
                ("provider.fallback.api_key", fallback.apiKey != nil), ("provider.fallback.secret_key", fallback.secretKey != nil),
                ("provider.fallback.access_token", fallback.accessToken != nil),
            ]
            if let key = set.first(where: \.1)?.0 {
                throw ConfigurationError(key: key, message: "is set but provider.fallback.kind is not")
            }
            return
        }
        if fallback.baseURL == nil {
            throw ConfigurationError(key: "provider.fallback.base_url", message: "is required with provider.fallback.kind")
        }
        if fallback.model == nil {
            throw ConfigurationError(key: "provider.fallback.model", message: "is required with provider.fallback.kind")
        }
        if kind == .ernie, fallback.accessToken == nil, fallback.apiKey == nil || fallback.secretKey == nil {
            throw ConfigurationError(key: "provider.fallback.access_token",
                                     message: "ERNIE needs provider.fallback.access_token, or provider.fallback.api_key and provider.fallback.secret_key")
        }
    }

    /// The jobs consumer's librdkafka config: the user's `kafka.*` plus llmq's defaults.
    public var consumerKafkaConfig: KafkaConfig {
        var config = kafka
        config.setDefault("auto.offset.reset", "earliest")
        config.setDefault("partition.assignment.strategy", "cooperative-sticky")
        // llmq commits itself, as soon as offsets are stored and never mid-rebalance (CommitSchedule):
        // librdkafka's timer would commit mid-rebalance too, and lose the assignment's offsets.
        config.setDefault("enable.auto.commit", "false")
        // Per-partition lag and the oldest queued job for /metrics (WorkerMetrics.record(_:jobsTopics:)).
        config.setDefault("statistics.interval.ms", "5000")
        // Stored offsets are the only ones committed: see OffsetTracker.
        config["enable.auto.offset.store"] = "false"
        return config
    }

    /// The producer's librdkafka config: consumer-only properties removed, idempotence on, short linger.
    public var producerKafkaConfig: KafkaConfig {
        var config = KafkaConfig()
        for (key, value) in kafka.properties where !Self.consumerOnlyProperties.contains(key) {
            config[key] = value
        }
        config.setDefault("enable.idempotence", "true")
        config.setDefault("acks", "all")
        // Chunk events are latency-sensitive: batch for at most 2 ms.
        config.setDefault("linger.ms", "2")
        return config
    }

    /// Properties librdkafka warns about (or rejects) on a producer.
    static let consumerOnlyProperties: Set<String> = [
        "group.id", "group.instance.id", "auto.offset.reset", "partition.assignment.strategy", "enable.auto.commit",
        "auto.commit.interval.ms", "enable.auto.offset.store", "session.timeout.ms", "heartbeat.interval.ms",
        "max.poll.interval.ms", "fetch.wait.max.ms", "fetch.min.bytes", "fetch.max.bytes", "queued.min.messages",
        "queued.max.messages.kbytes", "isolation.level", "enable.partition.eof", "check.crcs", "group.protocol.type",
        "coordinator.query.interval.ms", "fetch.message.max.bytes", "fetch.error.backoff.ms", "consume.callback.max.messages",
        "allow.auto.create.topics", "statistics.interval.ms",
    ]

    /// Settings as `key = value` lines with secrets masked, for the start-up log.
    public var redactedSummary: [String] {
        var lines = kafka.properties.map { "kafka.\($0.key) = \(Self.isSecret($0.key) ? "***" : $0.value)" }
        lines += [
            "topic.jobs = \(jobLanes.map(\.description).joined(separator: ", "))", "topic.chunks = \(chunksTopic)", "topic.results = \(resultsTopic)",
            "topic.dead_letter = \(deadLetterTopic)", "topic.control = \(controlTopic)", "worker.concurrency = \(concurrency)",
            "provider.kind = \(providerKind.rawValue)", "provider.base_url = \(providerBaseURL)", "provider.model = \(providerModel)",
            "provider.api_key = \(providerAPIKey == nil ? "(unset)" : "***")",
            "provider.stream_fallback.interruptions = \(streamFallback.interruptions)",
            "provider.stream_fallback.window_ms = \(streamFallback.window.wholeMilliseconds)",
            "provider.stream_fallback.quiet_ms = \(streamFallback.quiet.wholeMilliseconds)",
            "provider.fallback.kind = \(fallback.kind?.rawValue ?? "(unset)")",
            "provider.fallback.base_url = \(fallback.baseURL ?? "(unset)")", "provider.fallback.model = \(fallback.model ?? "(unset)")",
            "provider.fallback.api_key = \(fallback.apiKey == nil ? "(unset)" : "***")",
            "provider.fallback.after_attempts = \(fallback.policy.afterAttempts)",
            "provider.fallback.circuit_failures = \(fallback.policy.circuitFailures)",
            "provider.fallback.circuit_cooldown_ms = \(fallback.policy.circuitCooldown.wholeMilliseconds)",
            "gateway.host = \(gateway.host)", "gateway.port = \(gateway.port)",
            "gateway.tokens = \(gateway.tokens.isEmpty ? "(unset)" : "*** (\(gateway.tokens.count))")",
            "gateway.cors_origins = \(gateway.corsOrigins.isEmpty ? "(none)" : gateway.corsOrigins.joined(separator: ","))",
        ]
        return lines
    }
}
