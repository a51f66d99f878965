import Foundation
import LLMQCore
import NIOCore
@testable import LLMQGateway
import Testing

/// The mapping of a job's events onto OpenAI chunks, without sockets.
@Suite struct ChatCompletionStreamTests {
    static func event(_ seq: Int, _ kind: ChunkEvent.Kind, stream: String = "s1", attempt: Int = 1) -> HubEvent {
        HubEvent(jobID: "j", kind: .chunk(ChunkEvent(jobID: "j", streamID: stream, attempt: attempt, seq: seq, kind: kind)), frame: ByteBuffer())
    }

    static func result(_ text: String, status: JobResult.Status = .succeeded) -> HubEvent {
        let result = JobResult(jobID: "j", status: status, text: text, finishReason: "stop", attempts: 2, model: "m",
                               usage: .init(promptTokens: 3, completionTokens: 4, totalTokens: 7),
                               timing: .init(queuedMs: 0, firstChunkMs: 0, totalMs: 1), source: .init(topic: "t", partition: 0, offset: 0))
        return HubEvent(jobID: "j", kind: .result(result, json: []), frame: ByteBuffer())
    }

    static func contents(_ outputs: [ChatCompletionStream.Output]) -> [String] {
        outputs.compactMap { output in
            guard case .data(let json) = output, let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
                  let choice = (object["choices"] as? [[String: Any]])?.first, let delta = choice["delta"] as? [String: Any] else { return nil }
            return delta["content"] as? String
        }
    }

    @Test func retriedAttemptIsReplayedSilentlyThenContinues() {
        var mapper = ChatCompletionStream(jobID: "j", created: 0, model: nil, includeUsage: true)
        var out: [ChatCompletionStream.Output] = []
        for e in [Self.event(0, .start), Self.event(1, .delta("Hel")), Self.event(2, .delta("lo ")), Self.event(3, .abort(reason: "cut", retrying: true)),
                  Self.event(0, .start, stream: "s2", attempt: 2), Self.event(1, .delta("He"), stream: "s2"), Self.event(2, .delta("llo w"), stream: "s2"),
                  Self.event(3, .delta("orld"), stream: "s2"), Self.event(4, .end(finishReason: "stop"), stream: "s2"), Self.result("Hello world")] {
            out += mapper.apply(e)
        }
        // The role chunk's empty content, the first attempt's pieces, then only the retry's continuation.
        #expect(Self.contents(out) == ["", "Hel", "lo ", "w", "orld"])
        #expect(out.last == .done)
        #expect(mapper.finished)
    }

    @Test func divergentRetryEndsWithAnError() {
        var mapper = ChatCompletionStream(jobID: "j", created: 0, model: nil, includeUsage: false)
        var out: [ChatCompletionStream.Output] = []
        for e in [Self.event(0, .start), Self.event(1, .delta("Hello")), Self.event(0, .start, stream: "s2", attempt: 2),
                  Self.event(1, .delta("Goodbye"), stream: "s2"), Self.event(2, .delta("more"), stream: "s2")] {
            out += mapper.apply(e)
        }
        guard case .failed(let json)? = out.last else {
            Issue.record("no error: \(out)")
            return
        }
        #expect(String(decoding: json, as: UTF8.self).contains("stream_diverged"))
        #expect(Self.contents(out).joined() == "Hello")
    }

    @Test func failedJobIsAnError() {
        var mapper = ChatCompletionStream(jobID: "j", created: 0, model: nil, includeUsage: false)
        let out = mapper.apply(Self.result("", status: .failed))
        guard case .failed(let json)? = out.last else {
            Issue.record("no error")
            return
        }
        #expect(String(decoding: json, as: UTF8.self).contains("llmq_job_failed"))
    }
}
