import LLMQKafka
import Testing

/// librdkafka's statistics JSON (as 2.0.2 emits it, trimmed) and the consumer-protocol assignment bytes.
@Suite("Consumer statistics and group assignment parsing")
struct ConsumerStatisticsTests {
    /// Captured from librdkafka 2.0.2 (a group consumer of topic `t`, 3 partitions, one commit on
    /// partition 0), with the broker and histogram sections cut down.
    static let sample = #"""
    {"name": "rdkafka#consumer-3", "client_id": "rdkafka", "type": "consumer", "ts": 274852068, "time": 1795971063,
     "age": 8119867, "replyq": 0, "msg_cnt": 0,
     "brokers": {"127.0.0.1:45755/1": {"name": "127.0.0.1:45755/1", "nodeid": 1, "state": "UP",
                 "rtt": {"min": 500647, "max": 500647, "p99": 501759}, "toppars": {"t-0": {"topic": "t", "partition": 0}}}},
     "topics": {"t": {"topic": "t", "age": 8000, "metadata_age": 7000,
       "partitions": {
         "0": {"partition": 0, "broker": 1, "leader": 1, "desired": true, "unknown": false, "fetch_state": "active",
               "committed_offset": 1, "hi_offset": 2, "ls_offset": 2, "consumer_lag": 1, "consumer_lag_stored": 0,
               "stored_offset": 2, "app_offset": 2, "fetchq_cnt": 0},
         "1": {"partition": 1, "desired": true, "fetch_state": "active", "committed_offset": -1001, "hi_offset": 2,
               "consumer_lag": -1, "consumer_lag_stored": 0},
         "2": {"partition": 2, "desired": false, "fetch_state": "none", "committed_offset": 7, "hi_offset": 9,
               "consumer_lag": 2, "consumer_lag_stored": 2},
         "-1": {"partition": -1, "desired": false, "fetch_state": "none", "committed_offset": -1001, "hi_offset": -1001,
                "consumer_lag": -1, "consumer_lag_stored": -1}}}},
     "cgrp": {"state": "up", "stateage": 8035, "join_state": "steady", "rebalance_age": 5033, "rebalance_cnt": 1,
              "rebalance_reason": "Metadata for subscribed topic(s) has changed", "assignment_size": 2},
     "tx": 22, "rx": 21}
    """#

    @Test func readsPartitionsLagAndGroup() throws {
        let stats = try ConsumerStatistics(json: Array(Self.sample.utf8))
        #expect(stats.clientID == "rdkafka")
        #expect(stats.name == "rdkafka#consumer-3")
        #expect(stats.partitions.map(\.topicPartition) == [TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2)],
                "librdkafka's internal partition -1 is left out; partitions come sorted")
        let p0 = stats.partitions[0]
        #expect(p0.assigned && p0.fetchState == "active")
        #expect(p0.committedOffset == 1 && p0.highWatermark == 2 && p0.lag == 1 && p0.lagStored == 0)
        let p1 = stats.partitions[1]
        #expect(p1.committedOffset == nil, "-1001 means no committed offset")
        #expect(p1.lag == nil, "-1 means lag unknown")
        #expect(stats.assigned(topic: "t").map(\.topicPartition.partition) == [0, 1])
        #expect(stats.assigned(topic: "other").isEmpty)
        #expect(stats.group == .init(state: "up", joinState: "steady", rebalanceCount: 1, assignmentSize: 2))
    }

    @Test func aProducerDocumentHasNoGroupAndNoPartitions() throws {
        let stats = try ConsumerStatistics(json: Array(#"{"name": "rdkafka#producer-1", "client_id": "x", "type": "producer", "topics": {}}"#.utf8))
        #expect(stats.group == nil)
        #expect(stats.partitions.isEmpty)
    }

    @Test func rejectsWhatIsNotStatistics() {
        #expect(throws: KafkaError.self) { try ConsumerStatistics(json: Array("not json".utf8)) }
        #expect(throws: KafkaError.self) { try ConsumerStatistics(json: Array(#"{"topics": {}}"#.utf8)) }
    }

    @Test func assignmentBytesRoundTrip() throws {
        let partitions = [TopicPartition("llmq.jobs", 0), TopicPartition("llmq.jobs", 3), TopicPartition("other", 1)]
        let bytes = ConsumerGroupAssignment.encode(partitions)
        #expect(try ConsumerGroupAssignment.decode(bytes) == partitions)
        #expect(try ConsumerGroupAssignment.decode([]) == [])
    }

    /// Bytes as a Java consumer writes them: version 1, one topic "jobs" with partitions 2 and 5, user data of 3 bytes.
    @Test func decodesAssignmentWithUserData() throws {
        let bytes: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 4] + Array("jobs".utf8) + [0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 3, 9, 9, 9]
        #expect(try ConsumerGroupAssignment.decode(bytes) == [TopicPartition("jobs", 2), TopicPartition("jobs", 5)])
        #expect(throws: KafkaError.self) { try ConsumerGroupAssignment.decode(Array(bytes.prefix(10))) }
    }
}
