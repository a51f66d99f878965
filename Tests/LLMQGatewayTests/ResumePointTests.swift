import LLMQGateway
import Testing

@Suite struct ResumePointTests {
    @Test func parsesChunkAndResultIDs() {
        #expect(ResumePoint(lastEventID: "w1-2-3-1:7") == .chunk(streamID: "w1-2-3-1", seq: 7))
        #expect(ResumePoint(lastEventID: "result") == .result)
        #expect(ResumePoint(lastEventID: "") == nil)
        #expect(ResumePoint(lastEventID: "garbage") == nil)
        #expect(ResumePoint(lastEventID: nil) == nil)
    }
}
