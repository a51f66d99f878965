import Synchronization

/// Samples a process's CPU seconds and RSS every few milliseconds, so the CPU it spent within a
/// window given by wall-clock times (for example message timestamps) can be read afterwards.
final class UsageSampler: Sendable {
    struct Sample: Sendable {
        var wallMicros: Int64
        var usage: ProcessUsage
    }
    private let store = SampleStore()
    private let task: Task<Void, Never>
    let pid: Int32

    init(pid: Int32, every interval: Duration = .milliseconds(10)) {
        self.pid = pid
        let store = self.store
        task = Task {
            while !Task.isCancelled {
                if let usage = ProcessUsage(pid: pid) {
                    let now = wallClockMicros()
                    store.samples.withLock { $0.append(Sample(wallMicros: now, usage: usage)) }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Takes a sample now (also after `stop`), if the process still exists.
    func sampleNow() {
        if let usage = ProcessUsage(pid: pid) {
            let now = wallClockMicros()
            store.samples.withLock { $0.append(Sample(wallMicros: now, usage: usage)) }
        }
    }

    func stop() { task.cancel() }

    /// The last sample taken at or before `micros` (the first one when none is that early).
    func sample(atOrBefore micros: Int64) -> Sample? {
        store.samples.withLock { list in list.last { $0.wallMicros <= micros } ?? list.first }
    }

    /// The first sample taken at or after `micros` (the last one when none is that late).
    func sample(atOrAfter micros: Int64) -> Sample? {
        store.samples.withLock { list in list.first { $0.wallMicros >= micros } ?? list.last }
    }

    /// CPU seconds spent between two wall-clock times (widened to the nearest samples outside them).
    func cpuSeconds(from start: Int64, to end: Int64) -> Double {
        guard let a = sample(atOrBefore: start), let b = sample(atOrAfter: end) else { return 0 }
        return b.usage.cpuSeconds - a.usage.cpuSeconds
    }

    var latest: ProcessUsage? { store.samples.withLock { $0.last?.usage } }
    var peakRSSBytes: Int { store.samples.withLock { $0.map(\.usage.peakRSSBytes).max() ?? 0 } }
}

/// The samples, shared with the sampling task.
private final class SampleStore: Sendable {
    let samples = Mutex<[UsageSampler.Sample]>([])
}
