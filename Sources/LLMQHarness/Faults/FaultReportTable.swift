/// The fault suite's summary table (also pasted into RELIABILITY.md).
public enum FaultReportTable {
    public static func render(_ reports: [PhaseReport]) -> String {
        let header = ["phase", "jobs", "results", "duplicates", "lost", "faults", "leaks", "seconds", "verdict"]
        let rows = reports.map { r in
            [r.phase, "\(r.jobs)", "\(r.results)", "\(r.duplicates)", "\(r.lost)", "\(r.faultsInjected)", "\(r.secretLeaks)",
             "\(Int(r.seconds))", r.passed ? "passed" : "FAILED"]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
