import Foundation

/// One SVG chart per scenario row, written beside `bench.json` by `llmq bench --output`: the
/// latency percentiles on the left, the CPU cost per 1,000 events beside librdkafka's own (the
/// ceiling scenario) on the right. Plain SVG, no script, so a Markdown viewer shows it inline.
struct BenchChart {
    struct Bar {
        var label: String
        var value: Double
        var highlight = false
    }

    struct Panel {
        var title: String
        var unit: String
        var bars: [Bar]
    }

    let title: String
    let panels: [Panel]

    /// The panels a row has figures for; nil when it has none worth drawing.
    init?(row: BenchRow, ceilingCPU: Double?) {
        var panels: [Panel] = []
        let latency = row.figures.filter { figure in
            figure.unit == "ms" && (figure.name.hasPrefix("latency p") || figure.name == "latency max"
                || figure.name.hasPrefix("stamp → SSE client p") || figure.name == "stamp → SSE client max"
                || figure.name.hasPrefix("job time p"))
        }
        if !latency.isEmpty {
            panels.append(Panel(title: "latency", unit: "ms", bars: latency.map {
                Bar(label: Self.shortLabel($0.name), value: $0.value)
            }))
        }
        var cpu: [Bar] = []
        // The row's own CPU figures, and in a drain row the floor's (its "floor CPU per 1,000 …").
        for figure in row.figures where figure.unit == "ms" && figure.name.contains("CPU per 1,000") && !figure.name.contains("ceiling") {
            let label = figure.name.contains("provider") ? "worker / 1,000 provider events"
                : figure.name.hasPrefix("worker") ? "worker / 1,000 chunk events"
                : figure.name.hasPrefix("floor") || row.scenario == BenchScenario.floor.rawValue ? Self.floorLabel : Self.ceilingLabel
            cpu.append(Bar(label: label, value: figure.value, highlight: !figure.name.hasPrefix("worker")))
        }
        if !cpu.isEmpty, row.scenario != BenchScenario.ceiling.rawValue, let ceilingCPU {
            cpu.append(Bar(label: Self.ceilingLabel, value: ceilingCPU, highlight: true))
            // The issue's target is the plain drain's (a write per event), not the other drain rows'.
            if row.scenario == BenchScenario.drain.rawValue, row.variant == Benchmark.plainDrainVariant {
                cpu.append(Bar(label: "target: 3 × librdkafka", value: 3 * ceilingCPU, highlight: true))
            }
        }
        if !cpu.isEmpty { panels.append(Panel(title: "CPU per 1,000 events", unit: "ms", bars: cpu)) }
        let throughput = row.figures.filter { $0.unit == "jobs/s" }
        if panels.isEmpty, !throughput.isEmpty {
            panels.append(Panel(title: "throughput", unit: "jobs/s", bars: throughput.map {
                Bar(label: $0.name, value: $0.value, highlight: $0.name.hasPrefix("ideal"))
            }))
        }
        guard !panels.isEmpty else { return nil }
        self.title = row.scenario + (row.variant.isEmpty ? "" : " (\(row.variant))")
        self.panels = panels
    }

    private static let ceilingLabel = "librdkafka alone / 1,000 msgs"
    private static let floorLabel = "bare NIO client / 1,000 chunk events"

    /// A file name for the row: `drain-no-coalescing.svg`.
    static func fileName(for row: BenchRow) -> String {
        let raw = row.scenario + (row.variant.isEmpty ? "" : "-" + row.variant)
        var name = ""
        for scalar in raw.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII { name.unicodeScalars.append(scalar) } else if !name.hasSuffix("-") { name += "-" }
        }
        while name.hasSuffix("-") { name.removeLast() }
        return name + ".svg"
    }

    private static func shortLabel(_ name: String) -> String {
        name.replacingOccurrences(of: "stamp → SSE client ", with: "")
            .replacingOccurrences(of: "latency ", with: "")
            .replacingOccurrences(of: " (result timing.total_ms)", with: "")
    }

    var svg: String {
        let panelWidth = 360.0
        let barHeight = 22.0
        let top = 48.0
        let labelWidth = 170.0
        let rows = panels.map(\.bars.count).max() ?? 0
        let height = top + Double(rows) * (barHeight + 8) + 40
        let width = panelWidth * Double(panels.count) + 20
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="10" y="20" font-size="15" font-weight="bold">\(Self.escape(title))</text>

        """
        for (index, panel) in panels.enumerated() {
            let x0 = 10 + Double(index) * panelWidth
            let maxValue = max(panel.bars.map(\.value).max() ?? 1, 1e-9)
            let scale = (panelWidth - labelWidth - 70) / maxValue
            out += "<text x=\"\(Self.f(x0))\" y=\"38\" font-weight=\"bold\">\(Self.escape(panel.title)) (\(Self.escape(panel.unit)))</text>\n"
            for (i, bar) in panel.bars.enumerated() {
                let y = top + Double(i) * (barHeight + 8)
                let length = max(1, bar.value * scale)
                out += "<text x=\"\(Self.f(x0 + labelWidth - 6))\" y=\"\(Self.f(y + 15))\" text-anchor=\"end\">\(Self.escape(bar.label))</text>\n"
                out += "<rect x=\"\(Self.f(x0 + labelWidth))\" y=\"\(Self.f(y))\" width=\"\(Self.f(length))\" height=\"\(Self.f(barHeight))\" fill=\"\(bar.highlight ? "#9aa5b1" : "#2f6fb3")\"/>\n"
                out += "<text x=\"\(Self.f(x0 + labelWidth + length + 4))\" y=\"\(Self.f(y + 15))\">\(Self.escape(BenchReport.format(bar.value)))</text>\n"
            }
        }
        out += "</svg>\n"
        return out
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
