import Foundation
import LLMQTesting
import Testing

@testable import LLMQCore

@Suite("JobResult")
struct JobResultTests {
    static let source = JobResult.Source(topic: "llmq.jobs", partition: 3, offset: 1187)

    static let succeeded = JobResult(
        jobID: "job-42", status: .succeeded, text: "Hello \"world\"\n😀 你好", finishReason: "stop", streamID: "w7-3-1187-2",
        attempts: 2, model: "ernie-4.0", provider: "openai",
        usage: .init(promptTokens: 12, completionTokens: 80, totalTokens: 92),
        timing: .init(queuedMs: 3, firstChunkMs: 412, totalMs: 2210),
        metadata: .object(["anything": .string("echoed back"), "n": .number(1.5), "l": .array([.null, .bool(true)])]),
        source: source)

    static let invalid = JobResult(
        jobID: nil, status: .invalid, timing: .init(queuedMs: 0, firstChunkMs: nil, totalMs: 0),
        error: .init(kind: "malformed_json", message: "not valid UTF-8 JSON", retryable: false),
        source: .init(topic: "llmq.jobs", partition: 0, offset: 7))

    private func object(_ result: JobResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(try result.encoded()))
        return try #require(value as? [String: Any], sourceLocation: sourceLocation)
    }

    /// The top-level keys DESIGN.md shows for every result, plus llmq's `stream_events` (issue 10).
    static let designKeys: Set<String> = [
        "job_id", "status", "text", "finish_reason", "stream_id", "attempts", "model", "provider", "usage", "timing",
        "error", "metadata", "source", "stream_events",
    ]

    @Test func succeededResultHasTheDesignShape() throws {
        let object = try object(Self.succeeded)
        #expect(Set(object.keys) == Self.designKeys)
        #expect(object["job_id"] as? String == "job-42")
        #expect(object["status"] as? String == "succeeded")
        #expect(object["text"] as? String == "Hello \"world\"\n😀 你好")
        #expect(object["finish_reason"] as? String == "stop")
        #expect(object["stream_id"] as? String == "w7-3-1187-2")
        #expect(object["attempts"] as? Int == 2)
        #expect(object["model"] as? String == "ernie-4.0")
        #expect(object["provider"] as? String == "openai")
        #expect(object["error"] is NSNull)

        let usage = try #require(object["usage"] as? [String: Any])
        #expect(Set(usage.keys) == ["prompt_tokens", "completion_tokens", "total_tokens"])
        #expect(usage["prompt_tokens"] as? Int == 12)
        #expect(usage["completion_tokens"] as? Int == 80)
        #expect(usage["total_tokens"] as? Int == 92)

        let timing = try #require(object["timing"] as? [String: Any])
        #expect(Set(timing.keys) == ["queued_ms", "first_chunk_ms", "total_ms"])
        #expect(timing["queued_ms"] as? Int == 3)
        #expect(timing["first_chunk_ms"] as? Int == 412)
        #expect(timing["total_ms"] as? Int == 2210)

        let source = try #require(object["source"] as? [String: Any])
        #expect(Set(source.keys) == ["topic", "partition", "offset"])
        #expect(source["topic"] as? String == "llmq.jobs")
        #expect(source["partition"] as? Int == 3)
        #expect(source["offset"] as? Int == 1187)

        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["anything"] as? String == "echoed back")
    }

    @Test func invalidResultHasNullJobIDAndAnError() throws {
        let object = try object(Self.invalid)
        #expect(Set(object.keys) == Self.designKeys)
        #expect(object["job_id"] is NSNull)
        #expect(object["status"] as? String == "invalid")
        #expect(object["text"] as? String == "")
        for key in ["finish_reason", "stream_id", "model", "provider", "usage"] {
            #expect(object[key] is NSNull, "\(key)")
        }
        #expect(object["attempts"] as? Int == 0)
        let error = try #require(object["error"] as? [String: Any])
        #expect(error["kind"] as? String == "malformed_json")
        #expect(error["message"] as? String == "not valid UTF-8 JSON")
        #expect(error["retryable"] as? Bool == false)
        #expect(error["http_status"] == nil || error["http_status"] is NSNull)
        // Absent metadata is echoed as an empty object, as DESIGN.md shows.
        #expect((object["metadata"] as? [String: Any])?.isEmpty == true)
        // The encoder writes `"job_id":null` literally, not an omitted key.
        #expect(String(decoding: try Self.invalid.encoded(), as: UTF8.self).contains(#""job_id":null"#))
    }

    @Test func errorCarriesHTTPStatus() throws {
        var result = Self.invalid
        result.jobID = "j"
        result.status = .failed
        result.error = .init(kind: "rate_limited", message: "HTTP 429", retryable: true, httpStatus: 429)
        let error = try #require(try object(result)["error"] as? [String: Any])
        #expect(Set(error.keys) == ["kind", "message", "retryable", "http_status"])
        #expect(error["http_status"] as? Int == 429)
        #expect(error["retryable"] as? Bool == true)
    }

    @Test func statusRawValues() {
        #expect(JobResult.Status.allCases.map(\.rawValue) == ["succeeded", "failed", "invalid", "expired", "cancelled"])
    }

    @Test func workerIsWrittenOnlyWhenKnown() throws {
        #expect(try object(Self.succeeded)["worker"] == nil)
        var result = Self.succeeded
        result.worker = "w7"
        #expect(try object(result)["worker"] as? String == "w7")
    }

    @Test func encodedIsCompactUTF8WithoutEscapedSlashes() throws {
        var result = Self.succeeded
        result.text = "a/b </script> 😀 你好"
        let text = String(decoding: try result.encoded(), as: UTF8.self)
        #expect(text.contains(#""text":"a/b </script> 😀 你好""#))
        #expect(!text.contains("\n"))
    }

    @Test(arguments: [JobResultTests.succeeded, JobResultTests.invalid])
    func roundTrip(result: JobResult) throws {
        var result = result
        result.metadata = result.metadata ?? .object([:])  // nil metadata is written as {} by design
        #expect(JobResult.decode(try result.encoded()) == result)
        result.worker = "w-1"
        #expect(JobResult.decode(try result.encoded()) == result)
    }

    @Test func roundTripEveryStatusAndOptionalCombination() throws {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<200 {
            let result = JobResult(
                jobID: Bool.random(using: &rng) ? "j-\(rng.next())" : nil,
                status: JobResult.Status.allCases.randomElement(using: &rng)!,
                text: Bool.random(using: &rng) ? "" : "t\u{0}\"\\\n😀",
                finishReason: Bool.random(using: &rng) ? "length" : nil,
                streamID: Bool.random(using: &rng) ? "s-1" : nil,
                attempts: Int.random(in: 0...5, using: &rng),
                model: Bool.random(using: &rng) ? "m" : nil,
                provider: Bool.random(using: &rng) ? "ernie" : nil,
                usage: Bool.random(using: &rng) ? .init(promptTokens: 1, completionTokens: 2, totalTokens: 3) : nil,
                timing: .init(queuedMs: Bool.random(using: &rng) ? 5 : nil, firstChunkMs: Bool.random(using: &rng) ? 6 : nil,
                              totalMs: Int.random(in: 0...100_000, using: &rng)),
                error: Bool.random(using: &rng) ? .init(kind: "k", message: "m", retryable: Bool.random(using: &rng),
                                                         httpStatus: Bool.random(using: &rng) ? 503 : nil) : nil,
                metadata: Bool.random(using: &rng) ? .object(["k": .array([.number(-2), .string("v")])]) : .object([:]),
                source: .init(topic: "t", partition: Int32.random(in: 0...100, using: &rng), offset: Int64.random(in: 0...Int64.max, using: &rng)),
                worker: Bool.random(using: &rng) ? "w" : nil)
            #expect(JobResult.decode(try result.encoded()) == result)
        }
    }

    @Test func decodeRejectsNonResults() {
        for text in ["", "{}", "[]", "null", #"{"job_id":"j","status":"done"}"#] {
            #expect(JobResult.decode(Array(text.utf8)) == nil, "\(text)")
        }
    }
}

/// Issue 10, defect 5: a result that cannot be encoded was published as empty bytes (and its
/// offset stored). Now encoding throws, and what is published is never empty.
@Suite struct UnencodableResultTests {
    static let result = JobResult(jobID: "j", status: .succeeded, text: "hi", timing: .init(queuedMs: nil, firstChunkMs: nil, totalMs: 1),
                                  metadata: .object(["v": .number(.infinity)]), source: .init(topic: "t", partition: 0, offset: 7))

    @Test func encodingANonFiniteNumberThrows() {
        #expect(throws: (any Error).self) { try Self.result.encoded() }
    }

    @Test func deliveryBytesKeepTheResultAndSayWhyMetadataWasDropped() throws {
        let bytes = Self.result.encodedForDelivery()
        let decoded = try #require(JobResult.decode(bytes))
        #expect(decoded.jobID == "j")
        #expect(decoded.status == .succeeded)
        #expect(decoded.text == "hi")
        #expect(decoded.metadata == .object(["llmq_error": .string("metadata could not be encoded as JSON and was dropped")]))
    }
}
