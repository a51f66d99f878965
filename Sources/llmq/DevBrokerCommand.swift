import ArgumentParser
import Foundation
import LLMQKafka
import LLMQTools
import LLMQWorker

/// `llmq dev-broker`: an embedded Kafka cluster for any Kafka client, until interrupted.
struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run an embedded Kafka cluster (librdkafka's mock cluster) until interrupted.",
        discussion: "Prints the bootstrap servers as the first line of stdout, so kcat or another llmq can use it: kcat -b $(head -1 ...) -L"
    )

    @Option(help: "Number of brokers.")
    var brokers: Int = 1

    @Option(name: .customLong("topic"), help: "A topic to create, as NAME:PARTITIONS (repeatable).")
    var topics: [String] = []

    @Flag(inversion: .prefixedNo, help: "Turn Nagle's algorithm off on the cluster's connections, as a real broker does (the mock leaves it on: pipelined answers then wait up to 40 ms for the client's delayed ACK).")
    var tcpNodelay = true

    func run() async throws {
        let specs = try topics.map { try TopicSpec(parsing: $0) }
        let cluster = try MockCluster(brokers: brokers)
        for spec in specs { try cluster.createTopic(spec.name, partitions: spec.partitions) }
        // The cluster's listening sockets exist now; the connections they accept inherit the option.
        if tcpNodelay { TCPNoDelay.setOnAllSockets() }
        print(cluster.bootstrapServers)
        fflush(nil)
        try await DevEnvironment.keepRunningUntilSignalled(holding: cluster)
    }
}
