import Foundation
import LLMQTestSupport
import Testing

/// The web page in a real browser: Debian's chromium, headless, driven over the DevTools protocol.
@Suite("Gateway: the web page in a browser", .serialized)
struct GatewayPageTests {
    /// Where the browser test leaves its screenshot.
    static let screenshot = TestClients.root.appendingPathComponent(".build/gateway-page.png").path

    @Test("the page submits a prompt and shows its text streaming in; its cancel button cancels a second job, shown as cancelled")
    func pageInChromium() async throws {
        guard TestClients.unavailable == nil, let chromium = TestClients.chromium else {
            print("skipping the browser test: \(TestClients.unavailable ?? "no chromium")")
            return
        }
        let fixture = try await GatewayFixture()
        let fast = GatewayFixture.prompt("Why do queues need backpressure?", words: 30, gapMs: 20)
        let slow = GatewayFixture.prompt("Write a very long essay", words: 400, gapMs: 60)
        let spec: [String: Any] = [
            "url": fixture.gateway.baseURL + "/", "chromium": chromium, "screenshot": Self.screenshot,
            "fast_prompt": fast, "fast_expected": GatewayFixture.expected(fast, words: 30), "slow_prompt": slow,
        ]
        let input = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let outcome = await TestClients.runDetached(TestClients.python, [TestClients.root.appendingPathComponent("scripts/clients/browser_check.py").path], stdin: input)
        #expect(outcome.status == 0, "browser_check.py: \(outcome.stdout) \(outcome.stderr.suffix(2000))")
        let summary = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) as? [String: Any] ?? [:]
        #expect(summary["ok"] as? Bool == true)
        if let slowID = summary["slow_id"] as? String {
            let results = try await fixture.bed.waitForResults([slowID])
            #expect(results[slowID]?.first?.status == .cancelled)
        }
        #expect(FileManager.default.fileExists(atPath: Self.screenshot))
        try await fixture.close()
    }
}
