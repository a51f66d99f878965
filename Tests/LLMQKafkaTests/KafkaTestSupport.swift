import LLMQKafka

/// Records rebalance events for assertions.
actor RebalanceRecorder {
    private(set) var events: [RebalanceEvent] = []
    func record(_ event: RebalanceEvent) { events.append(event) }
    var assigned: Set<TopicPartition> {
        var set: Set<TopicPartition> = []
        for event in events {
            switch event {
            case .assigned(let tps): set.formUnion(tps)
            case .revoked(let tps): set.subtract(tps)
            }
        }
        return set
    }
}
