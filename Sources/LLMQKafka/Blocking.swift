import Dispatch

/// Runs a librdkafka call that may block (flush, commit, close) on a GCD thread instead of the
/// cooperative pool, and resumes the caller when it returns.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(returning: body())
        }
    }
}
