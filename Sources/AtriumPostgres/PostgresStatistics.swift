import Synchronization

/// Counters of the database's work since it opened, for `/metrics`.
///
/// `retries` against `writes` shows how often serializable transactions collide: each retry
/// ran a body once more after a serialization failure or a deadlock.
public struct PostgresStatistics: Sendable, Equatable {
    /// Write transactions that committed.
    public var commits: Int
    /// Write jobs run (each `write` call), whatever their outcome.
    public var writes: Int
    /// Write jobs that ended with an error.
    public var failedWrites: Int
    /// Bodies run again after a serialization failure or deadlock.
    public var retries: Int
    /// `read` calls that ran.
    public var reads: Int
}

/// The live counters behind `PostgresStatistics`: atomics, so the pools update them without a lock.
final class PostgresCounters: Sendable {
    let commits = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let failedWrites = Atomic<Int>(0)
    let retries = Atomic<Int>(0)
    let reads = Atomic<Int>(0)

    var snapshot: PostgresStatistics {
        PostgresStatistics(
            commits: commits.load(ordering: .relaxed),
            writes: writes.load(ordering: .relaxed),
            failedWrites: failedWrites.load(ordering: .relaxed),
            retries: retries.load(ordering: .relaxed),
            reads: reads.load(ordering: .relaxed))
    }
}
