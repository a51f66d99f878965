import Foundation

/// One measured number.
public struct BenchFigure: Codable, Sendable {
    public var name: String
    public var value: Double
    public var unit: String
}

/// A target from issue #6 next to what was measured. Reported, never asserted.
public struct BenchTarget: Codable, Sendable {
    public var name: String
    /// The target as written, e.g. "≤ 2.5 ms".
    public var target: String
    public var measured: Double
    public var unit: String
    public var met: Bool
}

/// One scenario run (or one variant of it).
public struct BenchRow: Codable, Sendable {
    public var scenario: String
    public var variant: String
    public var figures: [BenchFigure] = []
    public var targets: [BenchTarget] = []
    public var notes: [String] = []

    init(scenario: BenchScenario, variant: String) {
        self.scenario = scenario.rawValue
        self.variant = variant
    }

    mutating func add(_ name: String, _ value: Double, _ unit: String = "") {
        figures.append(BenchFigure(name: name, value: value, unit: unit))
    }

    /// A target met when `measured` is at most `limit` (or at least, when `atLeast`).
    mutating func target(_ name: String, measured: Double, limit: Double, unit: String, atLeast: Bool = false) {
        let text = (atLeast ? "≥ " : "≤ ") + BenchReport.format(limit) + (unit.isEmpty ? "" : " \(unit)")
        targets.append(BenchTarget(name: name, target: text, measured: measured, unit: unit,
                                   met: atLeast ? measured >= limit : measured <= limit))
    }

    func value(_ name: String) -> Double? { figures.first { $0.name == name }?.value }
}

/// The machine the figures come from.
public struct BenchMachine: Codable, Sendable {
    public var cores: Int
    public var cpu: String
    public var memoryGiB: Double
    public var swift: String
    public var librdkafka: String
    public var openFilesLimit: Int

    public static func current() -> BenchMachine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return BenchMachine(
            cores: ProcessInfo.processInfo.activeProcessorCount, cpu: model,
            memoryGiB: (Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30) * 10).rounded() / 10,
            swift: firstLine(of: ["swift", "--version"]) ?? "unknown",
            librdkafka: firstLine(of: ["pkg-config", "--modversion", "rdkafka"]) ?? "unknown",
            openFilesLimit: Int(limit.rlim_cur))
    }

    private static func firstLine(of command: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
    }
}

/// Everything one `llmq bench` run measured.
public struct BenchReport: Codable, Sendable {
    public var startedAt: String
    public var machine: BenchMachine
    public var options: [String: String]
    public var rows: [BenchRow]

    public var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// The figures as a plain-text table, then the targets.
    public var text: String {
        var out = "llmq bench, \(startedAt)\n"
        out += "machine: \(machine.cores) cores, \(machine.cpu), \(machine.memoryGiB) GiB, \(machine.swift), librdkafka \(machine.librdkafka)\n"
        for row in rows {
            out += "\n\(row.scenario)" + (row.variant.isEmpty ? "" : " (\(row.variant))") + "\n"
            let width = row.figures.map(\.name.count).max() ?? 0
            for figure in row.figures {
                out += "  " + figure.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  " + Self.format(figure.value) + (figure.unit.isEmpty ? "" : " \(figure.unit)") + "\n"
            }
            for note in row.notes { out += "  note: \(note)\n" }
        }
        let targets = rows.flatMap { row in row.targets.map { (row, $0) } }
        if !targets.isEmpty {
            out += "\ntargets (reported, not asserted)\n"
            for (row, target) in targets {
                let label = row.scenario + (row.variant.isEmpty ? "" : " (\(row.variant))") + ": " + target.name
                out += "  " + label.padding(toLength: max(52, label.count), withPad: " ", startingAt: 0)
                    + "  " + (Self.format(target.measured) + " " + target.unit).padding(toLength: 16, withPad: " ", startingAt: 0)
                    + "  target " + target.target.padding(toLength: 14, withPad: " ", startingAt: 0)
                    + "  " + (target.met ? "met" : "MISSED") + "\n"
            }
        }
        return out
    }

    /// Three significant digits for small numbers, whole numbers for large ones.
    static func format(_ value: Double) -> String {
        if value.isNaN || value.isInfinite { return "n/a" }
        let magnitude = abs(value)
        if magnitude >= 1000 || value == value.rounded() && magnitude >= 100 { return String(Int(value.rounded())) }
        if magnitude >= 100 { return String(format: "%.1f", value) }
        if magnitude >= 10 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }
}
