import Foundation
import LLMQKafka
import Logging

/// Takes `GroupStatus` snapshots of the worker group.
///
/// Members come from the broker (ListGroups/DescribeGroups, with each member's assignment decoded);
/// a member's metrics are read at `http://<its host>:<metrics port>/metrics`, or at the `metricsURLs`
/// given. Where the broker cannot describe groups (librdkafka's mock cluster, as `llmq dev` runs),
/// members come from the `metricsURLs` alone: each worker reports the partitions assigned to it as
/// `llmq_partition_assigned`.
public struct StatusCollector: Sendable {
    let admin: KafkaAdmin
    let dlq: DeadLetterQueue
    public let group: String
    public let jobsTopic: String
    /// `metrics.port` of the workers, for members found through the broker.
    public let metricsPort: Int
    /// Explicit metrics endpoints (`http://host:port` or `.../metrics`).
    public let metricsURLs: [String]
    let fetch: @Sendable (String) async throws -> String

    public init(kafka: KafkaConfig, group: String, jobsTopic: String, deadLetterTopic: String, metricsPort: Int,
                metricsURLs: [String] = [], logger: Logger = Logger(label: "llmq.status"),
                fetch: @escaping @Sendable (String) async throws -> String = { try await httpGetText($0) }) throws {
        var config = kafka
        config["group.id"] = group
        admin = try KafkaAdmin(config: config, logger: logger)
        dlq = try DeadLetterQueue(kafka: kafka, topic: deadLetterTopic, jobsTopic: jobsTopic, logger: logger)
        self.group = group
        self.jobsTopic = jobsTopic
        self.metricsPort = metricsPort
        self.metricsURLs = metricsURLs.map(Self.normalized)
        self.fetch = fetch
    }

    public func snapshot() async throws -> GroupStatus {
        let watermarks = try await admin.watermarks(topic: jobsTopic)
        let committed = try await admin.committed(watermarks.keys.sorted().map { TopicPartition(jobsTopic, $0) })
        var status = GroupStatus(group: group, jobsTopic: jobsTopic, takenAt: Date(), state: nil, membersSource: "broker",
                                 note: nil, members: [], partitions: [], deadLetters: try await dlq.count(), rate: nil)
        status.partitions = watermarks.keys.sorted().map { p in
            let marks = watermarks[p]!
            return GroupStatus.Partition(partition: p, committed: committed[TopicPartition(jobsTopic, p)] ?? nil,
                                         low: marks.low, high: marks.high, owner: nil)
        }
        do {
            let description = try await admin.describeGroup(group)
            status.state = description.state
            status.members = description.members.map { member in
                let host = member.clientHost.trimmingPrefix("/").description
                let url = metricsURLs.first { URL(string: $0)?.host == host } ?? (metricsPort > 0 ? "http://\(host):\(metricsPort)/metrics" : nil)
                return GroupStatus.Member(id: member.memberID, clientID: member.clientID, host: host,
                                          partitions: member.assignment.filter { $0.topic == jobsTopic }.map(\.partition).sorted(),
                                          metricsURL: url)
            }
            for index in status.members.indices { await readMetrics(into: &status.members[index], assignment: false) }
        } catch let error as KafkaError where error.rdErrorName == "_UNSUPPORTED_FEATURE" {
            status.membersSource = "metrics"
            status.note = metricsURLs.isEmpty
                ? "the broker cannot describe groups (DescribeGroups unsupported): pass the workers' metrics addresses (--metrics) to see members"
                : "the broker cannot describe groups: members and assignments as the workers' metrics report them"
            for url in metricsURLs {
                var member = GroupStatus.Member(id: url, clientID: nil, host: URL(string: url)?.host, partitions: [], metricsURL: url)
                await readMetrics(into: &member, assignment: true)
                status.members.append(member)
            }
        }
        for member in status.members {
            for p in member.partitions {
                if let index = status.partitions.firstIndex(where: { $0.partition == p }) { status.partitions[index].owner = member.id }
            }
        }
        return status
    }

    /// Reads a member's gauges; with `assignment`, also its partitions (`llmq_partition_assigned == 1`).
    private func readMetrics(into member: inout GroupStatus.Member, assignment: Bool) async {
        guard let url = member.metricsURL, let text = try? await fetch(url) else { return }
        let metrics = PrometheusText(text)
        member.inFlight = metrics.value("llmq_jobs_in_flight").map { Int($0) }
        member.oldestQueuedSeconds = metrics.value("llmq_oldest_queued_job_seconds")
        if assignment {
            member.partitions = metrics.values("llmq_partition_assigned", ["topic": jobsTopic])
                .filter { $0.value == 1 }.compactMap { $0.labels["partition"].flatMap { Int32($0) } }.sorted()
        }
    }

    static func normalized(_ url: String) -> String {
        var url = url.hasPrefix("http") ? url : "http://" + url
        if !url.hasSuffix("/metrics") { url += url.hasSuffix("/") ? "metrics" : "/metrics" }
        return url
    }
}
