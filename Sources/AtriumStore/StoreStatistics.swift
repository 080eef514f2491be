/// Counters of the store's work since it opened, for `/metrics`.
///
/// `commits` below `writes` is group commit at work: each commit (one fsync) made several
/// writes durable. `commitNanoseconds / commits` is the average cost of one COMMIT.
public struct StoreStatistics: Sendable, Equatable {
    /// Transactions that committed.
    public var commits: Int
    /// Write scopes run, whatever their outcome.
    public var writes: Int
    /// Write scopes that ended with an error (their own, or their batch's).
    public var failedWrites: Int
    /// The most writes one group commit carried.
    public var largestBatch: Int
    /// Total time spent in COMMIT (mostly the fsync), in nanoseconds.
    public var commitNanoseconds: UInt64
    /// Read scopes run.
    public var reads: Int
    /// Writes refused because the disk was full.
    public var storageFullWrites: Int
}
