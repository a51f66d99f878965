import Foundation
import LLMQWorker
import Testing

/// Static checks of docker/: no Docker engine runs where the tests run, so nothing here builds the
/// image or starts the stack. What these tests do keep honest is that the Dockerfile, compose file,
/// Prometheus config and the image's worker.conf agree with each other and with the worker's keys.
/// YAML is read through python3 + PyYAML (no YAML package in the Swift dependencies).
@Suite("Docker setup (static checks)")
struct DockerSetupTests {
    // MARK: compose services

    @Test func composeDeclaresTheServices() throws {
        let services = try Compose.load().services
        for name in ["kafka", "kafka-init", "worker", "mock-llm", "prometheus"] {
            #expect(services.keys.contains(name), "docker/compose.yaml has no service \(name)")
        }
    }

    /// One service builds llmq:latest; the others only run it. Two `build:` sections for one tag
    /// make Compose (Bake) build both in parallel, and the second export of the tag fails.
    @Test func theImageIsBuiltByOneServiceOnly() throws {
        let compose = try Compose.load()
        let image = try #require(try compose.service("worker")["image"] as? String)
        let builders = compose.services.filter { ($0.value as? [String: Any])?["image"] as? String == image && ($0.value as? [String: Any])?["build"] != nil }
        #expect(builders.map(\.key) == ["worker"], "services building \(image): \(builders.keys.sorted())")
        let mock = try compose.service("mock-llm")
        #expect(mock["build"] == nil, "mock-llm runs the worker's image, it does not build it")
        // Compose skips pulling an image another service builds, and builds before it starts anything.
        #expect(mock["pull_policy"] == nil || mock["pull_policy"] as? String == "missing")
    }

    @Test func workerImageBuildsFromTheDockerfileWithTheRepositoryAsContext() throws {
        let compose = try Compose.load()
        let worker = try compose.service("worker")
        let build = try #require(worker["build"] as? [String: Any], "worker must have a build: section")
        #expect(build["context"] as? String == "..")
        #expect(build["dockerfile"] as? String == "docker/Dockerfile")
        let dockerfile = Paths.docker.appendingPathComponent(build["context"] as? String ?? "")
            .appendingPathComponent(build["dockerfile"] as? String ?? "").standardizedFileURL
        #expect(FileManager.default.fileExists(atPath: dockerfile.path), "\(dockerfile.path) does not exist")
        // The provider stand-in runs the same binary, so it must use the same image.
        let mockImage = try compose.service("mock-llm")["image"] as? String
        let workerImage = worker["image"] as? String
        #expect(workerImage != nil && mockImage == workerImage, "mock-llm and worker should share one image")
    }

    @Test func kafkaUsesTheOfficialApacheImage() throws {
        let compose = try Compose.load()
        for name in ["kafka", "kafka-init"] {
            let image = try compose.service(name)["image"] as? String ?? ""
            #expect(image.hasPrefix("apache/kafka"), "\(name) image is \(image), expected apache/kafka:<version>")
        }
    }

    @Test func workerCanBeScaled() throws {
        let worker = try Compose.load().service("worker")
        let named = worker.keys.contains("container_name")
        let publishes = worker.keys.contains("ports")
        #expect(!named, "a container_name prevents --scale worker=N")
        #expect(!publishes, "a published host port makes the second replica fail; use expose:")
    }

    /// The drain is the shutdown grace plus the producer flush plus the final commit, each bounded;
    /// Docker's SIGKILL must come after all three.
    @Test func stopGracePeriodExceedsTheWorstCaseDrain() throws {
        let worker = try Compose.load().service("worker")
        let text = try #require(worker["stop_grace_period"] as? String, "worker needs a stop_grace_period")
        let stopGrace = try #require(composeDuration(text), "cannot read stop_grace_period \(text)")
        let configuration = try WorkerConfiguration.load(file: Paths.workerConf.path, environment: [:])
        let drain = configuration.worstCaseDrain
        #expect(drain == configuration.shutdownGrace + WorkerConfiguration.drainFlushLimit + WorkerConfiguration.drainCommitLimit)
        let drainSeconds = Double(drain.components.seconds) + Double(drain.components.attoseconds) / 1e18
        #expect(stopGrace > drainSeconds,
                "stop_grace_period \(text) must exceed the worst-case drain (\(drain): worker.shutdown_grace_ms + flush + commit), or SIGKILL cuts the drain short")
    }

    // MARK: one metrics port everywhere

    @Test func metricsPortAgreesAcrossDockerfileHealthcheckAndPrometheus() throws {
        let port = try WorkerConf.load().int("metrics.port") ?? 9400
        let dockerfile = try Dockerfile.load()

        let exposed = dockerfile.arguments(of: "EXPOSE").flatMap { $0.split(separator: " ") }
            .compactMap { Int($0.split(separator: "/").first ?? "") }
        #expect(exposed == [port], "EXPOSE \(exposed) should be the metrics port \(port)")

        let healthchecks = dockerfile.arguments(of: "HEALTHCHECK")
        #expect(healthchecks.count == 1)
        let healthPort = healthchecks.first.flatMap { urlPort(in: $0, path: "/healthz") }
        #expect(healthPort == port, "HEALTHCHECK should probe http://127.0.0.1:\(port)/healthz")

        let prometheus = try loadYAML(Paths.docker.appendingPathComponent("prometheus.yml")) as? [String: Any]
        let jobs = prometheus?["scrape_configs"] as? [[String: Any]] ?? []
        let discovery = jobs.flatMap { $0["dns_sd_configs"] as? [[String: Any]] ?? [] }
            .filter { ($0["names"] as? [String] ?? []).contains("worker") }
        #expect(discovery.count == 1, "prometheus.yml should discover the worker replicas with dns_sd_configs")
        #expect(discovery.first.flatMap { intValue($0["port"]) } == port)

        let worker = try Compose.load().service("worker")
        if let expose = worker["expose"] as? [Any] {
            #expect(expose.compactMap { intValue($0) }.contains(port), "worker expose: should list \(port)")
        }
    }

    // MARK: the image runs the worker with docker/worker.conf

    @Test func imageInstallsWorkerConfAndRunsTheWorkerWithIt() throws {
        let dockerfile = try Dockerfile.load()
        let copies = dockerfile.arguments(of: "COPY").map { $0.split(separator: " ").filter { !$0.hasPrefix("--") } }
        #expect(copies.contains { $0.count == 2 && $0[0] == "docker/worker.conf" && $0[1] == "/etc/llmq/worker.conf" },
                "the Dockerfile should COPY docker/worker.conf /etc/llmq/worker.conf")

        let entrypoint = try dockerfile.execForm("ENTRYPOINT")
        #expect(entrypoint == ["llmq"])
        let cmd = try dockerfile.execForm("CMD")
        #expect(cmd.first == "worker")
        let config = cmd.firstIndex(of: "--config").map { cmd.index(after: $0) }
        #expect(config.map { $0 < cmd.endIndex ? cmd[$0] : "" } == "/etc/llmq/worker.conf",
                "CMD should be worker --config /etc/llmq/worker.conf, got \(cmd)")
    }

    // MARK: docker/worker.conf

    @Test func workerConfUsesOnlyKnownKeys() throws {
        let conf = try WorkerConf.load()
        for (key, line) in conf.entries.map({ ($0.key, $0.line) }) where !key.hasPrefix("kafka.") {
            #expect(WorkerConf.knownKeys.contains(key), "docker/worker.conf:\(line): unknown key \(key)")
        }
        let keys = conf.entries.map(\.key)
        #expect(Set(keys).count == keys.count, "docker/worker.conf sets a key twice")
    }

    /// The worker's own loader, with the environment compose gives the worker service: catches bad
    /// values and librdkafka properties that the key list alone cannot.
    @Test func workerConfLoadsWithTheComposeEnvironment() throws {
        let worker = try Compose.load().service("worker")
        var environment: [String: String] = [:]
        if let map = worker["environment"] as? [String: Any] {
            for (name, value) in map { environment[name] = stringValue(value) }
        } else if let list = worker["environment"] as? [String] {
            for item in list {
                let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                environment[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
        }
        let configuration = try WorkerConfiguration.load(file: Paths.workerConf.path, environment: environment)
        #expect(configuration.kafka["group.id"] == "llmq-workers")
    }

    // MARK: topics and addresses

    @Test func kafkaInitCreatesEveryTopicTheWorkerUses() throws {
        let compose = try Compose.load()
        let conf = try WorkerConf.load()
        let created = try compose.createdTopics()
        let wanted = [
            conf.value("topic.jobs") ?? "llmq.jobs", conf.value("topic.chunks") ?? "llmq.chunks",
            conf.value("topic.results") ?? "llmq.results", conf.value("topic.dead_letter") ?? "llmq.jobs.dlq",
        ]
        for topic in wanted {
            #expect(created.keys.contains(topic), "kafka-init does not create \(topic); it creates \(created.keys.sorted())")
        }
        // Partitions of the jobs topic bound how many replicas share the work.
        #expect((created[wanted[0]] ?? 0) > 1, "\(wanted[0]) needs several partitions for replicas to share it")

        let depends = try compose.service("kafka-init")["depends_on"] as? [String: Any]
        #expect((depends?["kafka"] as? [String: Any])?["condition"] as? String == "service_healthy")
        let workerDepends = try compose.service("worker")["depends_on"] as? [String: Any]
        #expect((workerDepends?["kafka-init"] as? [String: Any])?["condition"] as? String
                == "service_completed_successfully")
    }

    @Test func providerBaseURLPointsAtTheMockLLMService() throws {
        let compose = try Compose.load()
        let command = try compose.service("mock-llm")["command"] as? [String] ?? []
        #expect(command.first == "mock-llm")
        let portIndex = try #require(command.firstIndex(of: "--port"), "mock-llm command needs --port")
        let mockPort = command.index(after: portIndex) < command.endIndex ? Int(command[portIndex + 1]) : nil

        let baseURL = try #require(WorkerConf.load().value("provider.base_url"), "docker/worker.conf needs provider.base_url")
        let url = try #require(URL(string: baseURL))
        #expect(url.port == mockPort, "provider.base_url \(baseURL) vs mock-llm --port \(mockPort.map(String.init) ?? "none")")
        let host = url.host ?? ""
        #expect(compose.services.keys.contains(host), "provider.base_url host \(host) should be a compose service")
    }

    @Test func bootstrapServersAreAdvertisedByTheKafkaService() throws {
        let compose = try Compose.load()
        let servers = try #require(WorkerConf.load().value("kafka.bootstrap.servers"))
        let environment = try compose.service("kafka")["environment"] as? [String: Any] ?? [:]
        let advertised = stringValue(environment["KAFKA_ADVERTISED_LISTENERS"])
        for server in servers.split(separator: ",") {
            let host = server.split(separator: ":").first.map(String.init) ?? ""
            #expect(compose.services.keys.contains(host), "\(server) is not a compose service")
            #expect(advertised.contains("://\(server)"), "kafka does not advertise \(server): \(advertised)")
        }
    }
}

// MARK: - Files

enum Paths {
    /// Tests/LLMQWorkerTests/DockerSetupTests.swift → the repository root.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let docker = root.appendingPathComponent("docker")
    static let workerConf = docker.appendingPathComponent("worker.conf")
}

struct SetupError: Error, CustomStringConvertible {
    let description: String
}

/// docker/worker.conf as `key = value` entries, read the way the worker reads it.
private struct WorkerConf {
    var entries: [(key: String, value: String, line: Int)]

    /// The worker's keys besides `kafka.*`, from the worker itself.
    static let knownKeys = Set(WorkerConfiguration.knownKeys)

    static func load() throws -> WorkerConf {
        let text = try String(contentsOf: Paths.workerConf, encoding: .utf8)
        var entries: [(String, String, Int)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw SetupError(description: "docker/worker.conf:\(index + 1): expected key = value")
            }
            entries.append((line[..<eq].trimmingCharacters(in: .whitespaces),
                            line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces), index + 1))
        }
        return WorkerConf(entries: entries)
    }

    func value(_ key: String) -> String? { entries.last(where: { $0.key == key })?.value }

    func int(_ key: String) throws -> Int? {
        guard let text = value(key) else { return nil }
        guard let number = Int(text) else { throw SetupError(description: "docker/worker.conf: \(key) = \(text) is not an integer") }
        return number
    }
}

/// docker/compose.yaml as the JSON object PyYAML makes of it (merge keys resolved).
struct Compose {
    var root: [String: Any]
    var services: [String: Any] { root["services"] as? [String: Any] ?? [:] }

    static func load() throws -> Compose {
        guard let root = try loadYAML(Paths.docker.appendingPathComponent("compose.yaml")) as? [String: Any] else {
            throw SetupError(description: "docker/compose.yaml is not a mapping")
        }
        return Compose(root: root)
    }

    func service(_ name: String) throws -> [String: Any] {
        guard let service = services[name] as? [String: Any] else {
            throw SetupError(description: "docker/compose.yaml has no service \(name)")
        }
        return service
    }

    /// Topic name → partitions, from the `kafka-topics.sh --create` calls in kafka-init.
    func createdTopics() throws -> [String: Int] {
        let initService = try service("kafka-init")
        let text = ["entrypoint", "command"].map { key -> String in
            if let list = initService[key] as? [String] { return list.joined(separator: "\n") }
            return initService[key] as? String ?? ""
        }.joined(separator: "\n")
        var topics: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }
            guard tokens.contains("--create"), let t = tokens.firstIndex(of: "--topic"), t + 1 < tokens.count else { continue }
            let partitions = tokens.firstIndex(of: "--partitions").flatMap { $0 + 1 < tokens.count ? Int(tokens[$0 + 1]) : nil }
            topics[tokens[t + 1]] = partitions ?? 1
        }
        return topics
    }
}

/// docker/Dockerfile as instructions, continuation lines joined and comment lines dropped.
private struct Dockerfile {
    var instructions: [(name: String, arguments: String)]

    static func load() throws -> Dockerfile {
        let text = try String(contentsOf: Paths.docker.appendingPathComponent("Dockerfile"), encoding: .utf8)
        var instructions: [(String, String)] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || (line.isEmpty && pending.isEmpty) { continue }
            if line.hasSuffix("\\") {
                pending += String(line.dropLast()) + " "
                continue
            }
            let full = (pending + line).trimmingCharacters(in: .whitespaces)
            pending = ""
            guard !full.isEmpty else { continue }
            let name = full.prefix { !$0.isWhitespace }
            let arguments = full.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
            // Collapse runs of spaces left by joined continuation lines.
            instructions.append((name.uppercased(), arguments.split(separator: " ").joined(separator: " ")))
        }
        return Dockerfile(instructions: instructions)
    }

    func arguments(of name: String) -> [String] { instructions.filter { $0.name == name }.map(\.arguments) }

    /// The JSON array of the last `name` instruction (exec form).
    func execForm(_ name: String) throws -> [String] {
        guard let arguments = arguments(of: name).last else { throw SetupError(description: "Dockerfile has no \(name)") }
        guard let data = arguments.data(using: .utf8),
              let array = try? JSONSerialization.jsonObject(with: data) as? [String] else {
            throw SetupError(description: "Dockerfile \(name) should use the exec form [\"...\"], got \(arguments)")
        }
        return array
    }
}

// MARK: - Helpers

/// Parses YAML with python3 and PyYAML (installed on the development machines and CI); fails
/// with a message saying so when either is missing, never skips.
func loadYAML(_ url: URL) throws -> Any {
    let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, url.path]
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    do {
        try process.run()
    } catch {
        throw SetupError(description: "cannot run python3 to parse \(url.lastPathComponent) (needs python3 with PyYAML): \(error)")
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let hint = message.contains("No module named 'yaml'")
            ? "PyYAML is missing (apt-get install python3-yaml, or pip install pyyaml)" : "python3 failed"
        throw SetupError(description: "parsing \(url.path): \(hint): \(message)")
    }
    return try JSONSerialization.jsonObject(with: data)
}

/// `http://host:PORT<path>` inside `text` → PORT.
private func urlPort(in text: String, path: String) -> Int? {
    guard let scheme = text.range(of: "http://"), let end = text.range(of: path, range: scheme.upperBound..<text.endIndex) else {
        return nil
    }
    let authority = text[scheme.upperBound..<end.lowerBound]
    return authority.split(separator: ":").last.flatMap { Int($0) }
}

/// A YAML scalar as JSONSerialization hands it over (String, or NSNumber on Linux) → Int.
func intValue(_ value: Any?) -> Int? {
    if let text = value as? String { return Int(text.split(separator: "/").first ?? "") }
    if let number = value as? NSNumber { return number.intValue }
    return value as? Int
}

/// A YAML scalar → the string compose would put in the environment.
private func stringValue(_ value: Any?) -> String {
    if let text = value as? String { return text }
    if let number = value as? NSNumber { return number.stringValue }
    return ""
}

/// A compose duration (`45s`, `1m30s`, `1500ms`) in seconds.
private func composeDuration(_ text: String) -> Double? {
    let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("us", 0.000_001), ("h", 3600), ("m", 60), ("s", 1)]
    var rest = Substring(text.trimmingCharacters(in: .whitespaces))
    var total = 0.0
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        guard let number = Double(digits) else { return nil }
        rest = rest.dropFirst(digits.count)
        guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { return nil }
        total += number * unit.seconds
        rest = rest.dropFirst(unit.suffix.count)
    }
    return total
}
