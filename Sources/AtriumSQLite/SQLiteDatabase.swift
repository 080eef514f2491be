import AtriumSystem
import CSQLite

/// The database: one writer thread doing group commit, plus a pool of WAL reader connections.
///
/// It exists so the rest of Atrium never handles a connection's thread confinement, a
/// transaction's begin and end, or fsync batching: `read` lends a reader inside one snapshot,
/// `write` hands a body to the writer and returns once it is durable. Readers never wait for
/// the writer (WAL). Do not call `write` from inside a `read` body while every reader may be
/// checked out by threads that wait on writes; a `write` inside a `write` body is refused.
public final class SQLiteDatabase: Sendable {
    public let configuration: SQLiteConfiguration
    private let writer: WriterQueue
    private let readers: ReaderPool
    private let counters = SQLiteCounters()

    /// Opens (creating if needed) the database, applies pending migrations, opens the readers
    /// and starts the writer thread.
    public init(configuration: SQLiteConfiguration, migrations: [Migration]) throws(SQLiteError) {
        guard configuration.readerCount >= 1, configuration.maxBatchSize >= 1 else {
            throw SQLiteError.misuse("readerCount and maxBatchSize must be at least 1")
        }
        guard sqlite3_threadsafe() != 0 else {
            throw SQLiteError.misuse("the linked SQLite was built without thread support")
        }
        self.configuration = configuration
        try FileSystem.createParentDirectories(of: configuration.path)
        let writerConnection = try SQLiteConnection.open(configuration, role: .writer)
        try SQLiteMigrator.migrate(writerConnection, migrations)
        var readers: [Reader] = []
        for _ in 0..<configuration.readerCount {
            readers.append(try Reader(SQLiteConnection.open(configuration, role: .reader)))
        }
        self.readers = ReaderPool(readers)
        writer = try WriterQueue(connection: writerConnection, maxBatchSize: configuration.maxBatchSize,
                                 counters: counters)
        try writer.start()
    }

    deinit {
        close()
    }

    /// Runs `body` on a reader connection inside one read transaction (one snapshot).
    ///
    /// Blocks while every reader is busy. Errors thrown by `body` are rethrown unchanged
    /// after the transaction is rolled back.
    public func read<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let reader = try readers.checkOut()
        defer { readers.checkIn(reader) }
        counters.reads.add(1, ordering: .relaxed)
        return try reader.inSnapshot(body)
    }

    /// Runs `body` on the writer connection and returns once its transaction is committed.
    ///
    /// The body shares a transaction with the other writes waiting at the same time (group
    /// commit) but runs inside its own savepoint: if it throws, only its changes are undone and
    /// its error comes back here unchanged. If the shared COMMIT fails, none of the batch is
    /// visible: every write of it that had succeeded gets the COMMIT error (one that had
    /// already failed keeps its own error). Blocks the calling thread.
    public func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) throws -> T {
        let job = PendingWrite(body, waiter: PThreadCondition.forCurrentThread)
        try writer.submit(job)
        guard let result = job.result else {
            throw SQLiteError(code: SQLITE_INTERNAL, message: "write finished without a result")
        }
        return try result.get()
    }

    /// Like `write`, but returns at once: the writer thread calls `completion` with the
    /// result once the batch's COMMIT has returned (a success is durable when reported), or
    /// at once here if the database is closed. `completion` runs on the writer thread and
    /// holds up the next batch while it runs: hand the result on, do no work there.
    public func write<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        do {
            try writer.enqueue(DeferredWrite(body, completion: completion))
        } catch {
            completion(.failure(error))
        }
    }

    /// `observer` runs on the writer thread after each COMMIT whose transaction called
    /// `SQLiteConnection.requestCommitNotification()`, beside every observer added before it;
    /// it must return quickly (signal, don't work).
    public func addCommitObserver(_ observer: @escaping @Sendable () -> Void) {
        writer.addCommitObserver(observer)
    }

    /// Stops taking writes, finishes the queued ones and closes every connection (readers in
    /// use close when their `read` returns). Idempotent; later calls throw.
    public func close() {
        writer.close()
        readers.close()
    }

    /// Writes queued behind the batch the writer is running: a measure of write pressure.
    public var pendingWriteCount: Int {
        writer.pendingCount
    }

    public var statistics: SQLiteStatistics {
        counters.snapshot
    }

    /// A cheap check for readiness: the writer takes writes, and an idle reader (if any is
    /// idle; busy readers prove the pool works) can run `SELECT 1`.
    public var isHealthy: Bool {
        guard writer.isAlive else { return false }
        guard let reader = readers.tryCheckOut() else { return !readers.isClosed }
        defer { readers.checkIn(reader) }
        do {
            let statement = try reader.connection.prepare("SELECT 1")
            defer { statement.reset() }
            return try statement.step() && statement.int64(0) == 1
        } catch {
            return false
        }
    }
}
