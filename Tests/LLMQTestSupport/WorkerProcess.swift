import Foundation

/// An `llmq worker` child process, for tests that kill or signal real workers.
public final class WorkerProcess: @unchecked Sendable {
    // @unchecked: Process is used from the test's task only; `terminationStatus` is read after exit.
    public let process = Process()
    public let logPath: String

    /// The `llmq` binary next to the test bundle (built by `swift build`), or `$LLMQ_BIN`.
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["LLMQ_BIN"] { return path }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = testBinary.deletingLastPathComponent()
        // On Linux the test runner is `.build/debug/llmqPackageTests.xctest`; on macOS a bundle inside it.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("llmq").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return ".build/debug/llmq"
    }

    /// Starts `llmq worker` with these `--set` overrides. Its logs go to a temporary file.
    public init(settings: [String], name: String = "worker", environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TimedOut(what: "the llmq binary at \(Self.binary): run `swift build` first (make test does)")
        }
        logPath = NSTemporaryDirectory() + "\(uniqueName("llmq-\(name)")).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["worker"] + settings.flatMap { ["--set", $0] }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LLMQ_") }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit; returns its status, or throws after `timeout`.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        try await waitUntil("worker \(pid) to exit", timeout: timeout) { !self.process.isRunning }
        return process.terminationStatus
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
