import Synchronization

/// Counters of the database's work since it opened, for `/metrics`.
///
/// `commits` below `writes` is group commit at work: each commit (one fsync) made several
/// writes durable. `commitNanoseconds / commits` is the average cost of one COMMIT.
public struct SQLiteStatistics: Sendable, Equatable {
    /// Transactions that committed.
    public var commits: Int
    /// Write jobs run (each `write` call), whatever their outcome.
    public var writes: Int
    /// Write jobs that ended with an error (their own, or their batch's).
    public var failedWrites: Int
    /// Batches the writer took from its queue.
    public var batches: Int
    /// The most writes one batch carried.
    public var largestBatch: Int
    /// Total time spent in COMMIT (mostly the fsync), in nanoseconds.
    public var commitNanoseconds: UInt64
    /// `read` calls that ran.
    public var reads: Int
}

/// The live counters behind `SQLiteStatistics`: atomics, so readers and the writer update
/// them without a lock and `/metrics` reads them without stopping anything.
final class SQLiteCounters: Sendable {
    let commits = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let failedWrites = Atomic<Int>(0)
    let batches = Atomic<Int>(0)
    let largestBatch = Atomic<Int>(0)
    let commitNanoseconds = Atomic<UInt64>(0)
    let reads = Atomic<Int>(0)

    var snapshot: SQLiteStatistics {
        SQLiteStatistics(
            commits: commits.load(ordering: .relaxed),
            writes: writes.load(ordering: .relaxed),
            failedWrites: failedWrites.load(ordering: .relaxed),
            batches: batches.load(ordering: .relaxed),
            largestBatch: largestBatch.load(ordering: .relaxed),
            commitNanoseconds: commitNanoseconds.load(ordering: .relaxed),
            reads: reads.load(ordering: .relaxed))
    }
}
