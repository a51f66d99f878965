extension Duration {
    /// Whole milliseconds (truncated), the unit of librdkafka's timeouts and of llmq's `*_ms` settings
    /// and result timings. Public so the modules above use this one conversion.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Seconds as a Double, for reports.
    public var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
