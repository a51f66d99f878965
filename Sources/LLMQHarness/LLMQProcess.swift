import Foundation
import LLMQTesting

/// A child `llmq` process (a worker replica, the provider stand-in, a producer), for the tests,
/// the benchmark and the fault suite, which kill, signal and measure real processes.
public final class LLMQProcess: @unchecked Sendable {
    // @unchecked: `Process` is driven from one task; its state is read only through thread-safe accessors.
    public let process = Process()
    public let logPath: String
    public let name: String

    /// The `llmq` binary: `$LLMQ_BIN`, this process itself when it is llmq, or the one next to the
    /// test runner (built by `swift build`).
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["LLMQ_BIN"] { return path }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        if me.lastPathComponent == "llmq" { return me.path }
        var dir = me.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("llmq").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return ".build/debug/llmq"
    }

    /// Starts `llmq <arguments>`; stdout and stderr go to a temporary log file.
    /// The child gets this environment without `LLMQ_*` variables, plus `environment`.
    public init(_ arguments: [String], name: String, environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw HarnessError("the llmq binary is not at \(Self.binary): run `swift build` first, or set LLMQ_BIN")
        }
        self.name = name
        logPath = NSTemporaryDirectory() + "\(uniqueName("llmq-\(name)")).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LLMQ_") }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Starts `llmq worker` with these `--set` overrides.
    public convenience init(workerSettings: [String], name: String = "worker", environment: [String: String] = [:]) throws {
        try self.init(["worker"] + workerSettings.flatMap { ["--set", $0] }, name: name, environment: environment)
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit; returns its status, or throws after `timeout`.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        try await waitUntil("\(name) (pid \(pid)) to exit", timeout: timeout) { !self.process.isRunning }
        return process.terminationStatus
    }

    /// `http://127.0.0.1:PORT` of a worker's metrics server, read from the line it logs once
    /// listening (workers run with `metrics.port=0`); nil until then.
    public var metricsBaseURL: String? {
        let log = self.log
        guard let range = log.range(of: #"url=http://[^ ]+/metrics"#, options: .regularExpression) else { return nil }
        return String(log[range].dropFirst("url=".count).dropLast("/metrics".count)).replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
    }

    /// Everything the process wrote so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// CPU seconds (user + system) and peak RSS so far, from /proc (Linux).
    public var usage: ProcessUsage? { ProcessUsage(pid: pid) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A harness step that could not be done.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
