import Foundation
import LLMQWorker
import Testing

/// Static checks of docker/kubernetes/ (no cluster runs where the tests run): the manifests agree
/// with the worker's configuration keys, its metrics port, its drain time and each other.
@Suite("Kubernetes manifests (static checks)")
struct KubernetesManifestTests {
    static let directory = Paths.docker.appendingPathComponent("kubernetes")

    static func manifest(_ name: String) throws -> [String: Any] {
        guard let object = try loadYAML(directory.appendingPathComponent(name)) as? [String: Any] else {
            throw SetupError(description: "docker/kubernetes/\(name) is not a mapping")
        }
        return object
    }

    /// The worker's own loader reads the ConfigMap's worker.conf with the Deployment's literal environment
    /// (secrets replaced by placeholders): unknown keys and bad values fail here as they would at start-up.
    static func configuration() throws -> WorkerConfiguration {
        let data = try #require(try manifest("configmap.yaml")["data"] as? [String: Any])
        let text = try #require(data["worker.conf"] as? String, "the ConfigMap needs a worker.conf key")
        let file = NSTemporaryDirectory() + "k8s-worker-\(UInt32.random(in: 0...UInt32.max)).conf"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var environment: [String: String] = [:]
        for variable in try container()["env"] as? [[String: Any]] ?? [] {
            guard let name = variable["name"] as? String else { continue }
            environment[name] = variable["value"] as? String ?? "from-\(name.lowercased())"
        }
        return try WorkerConfiguration.load(file: file, environment: environment)
    }

    static func deployment() throws -> [String: Any] { try manifest("deployment.yaml") }

    static func podSpec() throws -> [String: Any] {
        let spec = try #require(try deployment()["spec"] as? [String: Any])
        let template = try #require(spec["template"] as? [String: Any])
        return try #require(template["spec"] as? [String: Any])
    }

    static func container() throws -> [String: Any] {
        let containers = try #require(try podSpec()["containers"] as? [[String: Any]])
        return try #require(containers.first { $0["name"] as? String == "worker" }, "no container named worker")
    }

    static func podLabels() throws -> [String: String] {
        let spec = try #require(try deployment()["spec"] as? [String: Any])
        let template = try #require(spec["template"] as? [String: Any])
        let metadata = try #require(template["metadata"] as? [String: Any])
        return metadata["labels"] as? [String: String] ?? [:]
    }

    @Test func kustomizationListsEveryManifest() throws {
        let resources = try Self.manifest("kustomization.yaml")["resources"] as? [String] ?? []
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }
        #expect(Set(resources) == Set(files))
    }

    @Test func theWorkerRunsWithTheConfigMapsWorkerConf() throws {
        let container = try Self.container()
        #expect(container["args"] as? [String] == ["worker", "--config", "/etc/llmq/worker.conf"])
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        let mount = try #require(mounts.first { $0["mountPath"] as? String == "/etc/llmq" })
        let volumes = try Self.podSpec()["volumes"] as? [[String: Any]] ?? []
        let volume = try #require(volumes.first { $0["name"] as? String == mount["name"] as? String })
        let configMap = try #require(volume["configMap"] as? [String: Any])
        let metadata = try Self.manifest("configmap.yaml")["metadata"] as? [String: Any]
        #expect(configMap["name"] as? String == metadata?["name"] as? String)
        let items = configMap["items"] as? [[String: Any]] ?? []
        #expect(items.contains { $0["key"] as? String == "worker.conf" && $0["path"] as? String == "worker.conf" })
        _ = try Self.configuration()
    }

    @Test func probesAndPortAreTheMetricsPort() throws {
        let port = try Self.configuration().metricsPort
        let container = try Self.container()
        let ports = container["ports"] as? [[String: Any]] ?? []
        let metrics = try #require(ports.first { $0["name"] as? String == "metrics" })
        #expect(intValue(metrics["containerPort"]) == port)
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let get = try #require((container[probe] as? [String: Any])?["httpGet"] as? [String: Any], "\(probe) needs httpGet")
            #expect(get["path"] as? String == path)
            let probePort = get["port"] as? String == "metrics" ? port : intValue(get["port"])
            #expect(probePort == port, "\(probe) port")
        }
    }

    @Test func terminationGraceCoversTheWorstCaseDrain() throws {
        let configuration = try Self.configuration()
        let grace = try #require(intValue(try Self.podSpec()["terminationGracePeriodSeconds"]))
        let lifecycle = try Self.container()["lifecycle"] as? [String: Any]
        let preStop = (lifecycle?["preStop"] as? [String: Any])?["exec"] as? [String: Any]
        let command = preStop?["command"] as? [String] ?? []
        #expect(command.first == "sleep", "a preStop pause lets endpoints drop the pod first")
        let pause = command.count == 2 ? Int(command[1]) ?? 0 : 0
        // Worker.drain: shutdown grace, then producer flush (10 s) and the final commit (10 s).
        let drain = Int(configuration.shutdownGrace.components.seconds) + 10 + 10
        #expect(grace > pause + drain, "terminationGracePeriodSeconds \(grace) ≤ preStop \(pause) s + drain \(drain) s")
    }

    @Test func apiKeyComesFromASecretAndResourcesAreRequested() throws {
        let container = try Self.container()
        let env = container["env"] as? [[String: Any]] ?? []
        let key = try #require(env.first { $0["name"] as? String == "LLMQ_PROVIDER_API_KEY" })
        #expect(key["value"] == nil)
        #expect(((key["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any])?["name"] != nil)
        let data = try Self.manifest("configmap.yaml")["data"] as? [String: Any]
        #expect((data?["worker.conf"] as? String)?.contains("provider.api_key") == false, "no secret in the ConfigMap")
        let requests = (container["resources"] as? [String: Any])?["requests"] as? [String: Any]
        #expect(requests?["cpu"] != nil && requests?["memory"] != nil)
    }

    @Test func disruptionBudgetSelectsTheWorkers() throws {
        let pdb = try Self.manifest("poddisruptionbudget.yaml")
        #expect(pdb["kind"] as? String == "PodDisruptionBudget")
        let spec = try #require(pdb["spec"] as? [String: Any])
        #expect(intValue(spec["maxUnavailable"]) == 1)
        let selector = (spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] ?? [:]
        let labels = try Self.podLabels()
        #expect(!selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value })
    }

    @Test func kedaScalesOnTheJobsTopicsLagUpToItsPartitions() throws {
        let configuration = try Self.configuration()
        let scaled = try Self.manifest("scaledobject.yaml")
        #expect(scaled["kind"] as? String == "ScaledObject")
        let spec = try #require(scaled["spec"] as? [String: Any])
        let deploymentName = (try Self.deployment()["metadata"] as? [String: Any])?["name"] as? String
        #expect((spec["scaleTargetRef"] as? [String: Any])?["name"] as? String == deploymentName)
        let triggers = spec["triggers"] as? [[String: Any]] ?? []
        let kafka = try #require(triggers.first { $0["type"] as? String == "kafka" }?["metadata"] as? [String: Any])
        #expect(kafka["topic"] as? String == configuration.jobsTopic)
        #expect(kafka["consumerGroup"] as? String == configuration.kafka["group.id"])
        #expect(kafka["bootstrapServers"] as? String == configuration.kafka["bootstrap.servers"])
        #expect(kafka["allowIdleConsumers"] as? String == "false")
        #expect(Int(kafka["lagThreshold"] as? String ?? "") != nil)
        // The compose stack's kafka-init creates llmq.jobs with the partition count the cluster should have.
        let partitions = try #require(try Compose.load().createdTopics()[configuration.jobsTopic])
        #expect(intValue(spec["maxReplicaCount"]) == partitions, "maxReplicaCount should be the partition count of \(configuration.jobsTopic)")
        #expect((intValue(spec["minReplicaCount"]) ?? 0) >= 1)
    }
}
