import LLMQKafka

extension WorkerConfiguration {
    /// The default topic names (`topic.*` keys unset): what the embedded setups create.
    public static let defaults = WorkerConfiguration()

    /// Creates the topics this configuration names (every jobs lane, chunks, results, dead letters, control) on an embedded cluster
    /// (`llmq dev`, the tests, the benchmark and the fault suite).
    public func createTopics(on cluster: MockCluster, jobPartitions: Int, chunkPartitions: Int, resultPartitions: Int,
                             deadLetterPartitions: Int = 1, replicationFactor: Int = 1) throws {
        for (topic, partitions) in jobTopics.map({ ($0, jobPartitions) }) + [(chunksTopic, chunkPartitions),
                                    (resultsTopic, resultPartitions), (deadLetterTopic, deadLetterPartitions), (controlTopic, 1)] {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: replicationFactor)
        }
    }
}
