import NIOCore

/// A task executor that runs a task's jobs on one NIO event loop.
///
/// Why (hot path): a streaming call's task reads its response body from AsyncHTTPClient, whose
/// channel handler runs on an event loop. On the global executor every body part woke a pool
/// thread (a futex wake and a context switch per part, measured in BENCHMARKS.md). With the call's
/// task preferring the loop that also serves its connection, a body part resumes the task on the
/// same thread: SSE parsing, decoding, encoding the chunk event and handing it to librdkafka run
/// there, after the channel read, without a thread hop. Nothing in that path blocks (producing
/// never waits in C: a full queue suspends the task), so the loop is never held up.
final class EventLoopTaskExecutor: TaskExecutor {
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
