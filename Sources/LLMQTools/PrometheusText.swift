/// Samples read from Prometheus text exposition (a worker's `/metrics`): enough to pick out llmq's gauges.
public struct PrometheusText: Sendable {
    public struct Sample: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public var samples: [Sample]

    public init(_ text: String) {
        samples = text.split(separator: "\n").compactMap(Self.sample)
    }

    /// The samples named `name` whose labels include `labels`.
    public func values(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// The single value of `name` (summed when there are several series).
    public func value(_ name: String) -> Double? {
        let matching = values(name)
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    private static func sample(_ line: Substring) -> Sample? {
        let line = line.trimmingPrefix(" ")
        guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
        var name = Substring()
        var labels: [String: String] = [:]
        var rest: Substring
        if let brace = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
            name = line[..<brace]
            for pair in line[line.index(after: brace)..<close].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0]).trimmingPrefix(" ").description] = String(parts[1].dropFirst().dropLast())
            }
            rest = line[line.index(after: close)...]
        } else {
            guard let space = line.firstIndex(of: " ") else { return nil }
            name = line[..<space]
            rest = line[space...]
        }
        guard let valueText = rest.split(separator: " ").first, let value = Double(valueText) else { return nil }
        return Sample(name: String(name), labels: labels, value: value)
    }
}
