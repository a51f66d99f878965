import Foundation
import Testing

@testable import LLMQCore

/// The result's `stream_fallback` (issue 12, item 4): present only when it happened.
@Suite("JobResult: stream_fallback")
struct JobResultStreamFallbackTests {
    static let source = JobResult.Source(topic: "llmq.jobs", partition: 0, offset: 1)

    private func keys(_ result: JobResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(try result.encoded())) as? [String: Any])
    }

    @Test func presentOnlyWhenTrue() throws {
        var result = JobResult(jobID: "j", status: .succeeded, text: "t", timing: .init(queuedMs: 0, firstChunkMs: 1, totalMs: 2),
                               source: Self.source, streamFallback: true)
        #expect(try keys(result)["stream_fallback"] as? Bool == true)
        #expect(JobResult.decode(try result.encoded())?.streamFallback == true)
        for absent in [false, nil] as [Bool?] {
            result.streamFallback = absent
            let object = try keys(result)
            #expect(object["stream_fallback"] == nil)
            #expect(JobResult.decode(try result.encoded())?.streamFallback == nil)
        }
    }
}
