import LLMQCore
import Synchronization

@testable import LLMQProviders

/// A provider that answers from a script, one step per call (the last step repeats), and records
/// what it was asked: no I/O, for the fallback decorators' tests.
final class ScriptedProvider: Provider, Sendable {
    enum Step: Sendable {
        case reply(String, model: String? = nil)
        case fail(ProviderError.Code)
    }

    let name: String
    private let state: Mutex<(steps: [Step], requests: [ProviderRequest])>

    init(_ name: String, _ steps: [Step]) {
        self.name = name
        self.state = Mutex((steps, []))
    }

    /// Every request received, in order.
    var requests: [ProviderRequest] { self.state.withLock { $0.requests } }

    func complete(_ request: ProviderRequest, timeouts: Timeouts, into sink: any DeltaSink) async throws -> ProviderCompletion {
        let step = self.state.withLock { state in
            state.requests.append(request)
            return state.steps.count > 1 ? state.steps.removeFirst() : state.steps[0]
        }
        switch step {
        case .reply(let text, let model):
            // A stream in two pieces, or the whole text at once: what the decorators pass on.
            if request.stream, text.count > 1 {
                let middle = text.index(text.startIndex, offsetBy: text.count / 2)
                try await sink.deliver(String(text[..<middle]))
                try await sink.deliver(String(text[middle...]))
            } else {
                try await sink.deliver(text)
            }
            return ProviderCompletion(finishReason: "stop", model: model)
        case .fail(let code):
            throw ProviderError(code: code, message: "scripted \(code)")
        }
    }
}

/// Collects what a decorator reports, in order.
final class Recorder<Event: Sendable>: Sendable {
    private let state = Mutex<[Event]>([])
    var events: [Event] { self.state.withLock { $0 } }
    func record(_ event: Event) { self.state.withLock { $0.append(event) } }
}

func fallbackRequest(stream: Bool = true, attempt: Int = 1, model: String? = "primary-model") -> ProviderRequest {
    ProviderRequest(messages: [JobMessage(role: "user", content: "hi")], model: model, stream: stream, attempt: attempt)
}
