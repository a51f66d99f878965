import Hummingbird
import NIOCore

/// Hummingbird's basic request context plus the event loop of the request's connection.
///
/// Why: a paced stream (the benchmark's 30,000 events/s) paid three thread wake-ups per event —
/// a dispatch timer thread for `Task.sleep`, a pool thread for the handler's task, the event loop for
/// the write — and the stand-in cost as much CPU as the worker it is there to feed. Streams are
/// written from a task that runs on the connection's own loop and paced with that loop's timers
/// (`MockLLMServer.stream`), so an event costs one timer and one write on one thread.
struct MockRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let eventLoop: any EventLoop

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.eventLoop = source.channel.eventLoop
    }
}

/// Runs a task's jobs on one event loop (the task's preferred executor).
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        self.eventLoop.execute {
            job.runSynchronously(on: executor)
        }
    }
}
