import Foundation

/// The real clients the gateway tests drive (the official OpenAI SDK in `.venv-clients`, Debian's
/// chromium), installed by `scripts/ensure-test-clients.sh`. When they are missing the script is
/// run once; a test skips only when they still cannot be found.
enum TestClients {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var python: String { root.appendingPathComponent(".venv-clients/bin/python").path }

    /// Why the clients are unavailable, or nil when they are ready.
    static let unavailable: String? = {
        if ready() { return nil }
        let install = run("/bin/bash", [root.appendingPathComponent("scripts/ensure-test-clients.sh").path], stdin: nil)
        if ready() { return nil }
        return "test clients could not be installed (scripts/ensure-test-clients.sh exited \(install.status)): \(install.stderr.suffix(400))"
    }()

    static var chromium: String? {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }

    private static func ready() -> Bool {
        FileManager.default.isExecutableFile(atPath: python) && chromium != nil
            && run(python, ["-c", "import openai, websockets"], stdin: nil).status == 0
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a process to its end (off the cooperative pool's critical path: only tests call this).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], stdin: String?) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = root
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        do { try process.run() } catch { return Outcome(status: -1, stdout: "", stderr: "\(error)") }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes to their end before waiting, so a chatty child never blocks on a full pipe.
        let errorData = Mutex<Data>(Data())
        let reader = Thread { errorData.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
        reader.start()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { usleep(1000) }
        return Outcome(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
                       stderr: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }

    /// Runs `run` on a thread of its own, so a long child never holds a cooperative thread.
    static func runDetached(_ executable: String, _ arguments: [String], stdin: String?) async -> Outcome {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: run(executable, arguments, stdin: stdin)) }.start()
        }
    }
}

import Synchronization
