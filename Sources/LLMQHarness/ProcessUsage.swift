import Foundation

/// CPU time and memory of a process, read from /proc (Linux only; nil elsewhere or after exit).
public struct ProcessUsage: Sendable, Hashable {
    /// User + system CPU seconds.
    public var cpuSeconds: Double
    /// Peak resident set size (VmHWM), bytes.
    public var peakRSSBytes: Int
    /// Current resident set size (VmRSS), bytes.
    public var rssBytes: Int

    public init?(pid: Int32) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        cpuSeconds = (utime + stime) / ticks
        func kilobytes(_ key: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0) * 1024
        }
        peakRSSBytes = kilobytes("VmHWM:")
        rssBytes = kilobytes("VmRSS:")
    }

    /// This process.
    public static var current: ProcessUsage? { ProcessUsage(pid: getpid()) }
}
