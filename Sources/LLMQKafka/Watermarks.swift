/// A partition's first offset and the next offset to be written.
public struct Watermarks: Sendable, Hashable {
    public var low: Int64
    public var high: Int64
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
    /// Messages currently in the partition (ignoring compaction gaps).
    public var count: Int64 { max(0, high - low) }
}
