import AtriumSystem

/// The PostgreSQL database: a pool of writer threads and a pool of reader connections.
///
/// The PostgreSQL twin of `SQLiteDatabase`, with the same shape so the store can wrap either:
/// `read` lends a reader inside one `REPEATABLE READ READ ONLY` snapshot; `write` hands a body
/// to a writer thread, which runs it in a `SERIALIZABLE` transaction and runs it again after a
/// serialization failure or deadlock (so a body must be safe to run more than once, and must
/// not have effects outside the database). Lost connections fail the work at hand with an
/// `isConnectionLost` error and are reconnected before the next; nothing waits forever
/// (`connect_timeout`, `statement_timeout`, `idle_in_transaction_session_timeout`).
public final class PostgresDatabase: Sendable {
    public let configuration: PostgresConfiguration
    private let writers: PostgresWriterPool
    private let readers: PostgresReaderPool
    private let counters = PostgresCounters()

    /// Connects, applies pending migrations (under the migration lock), opens the readers and
    /// starts the writer threads.
    public init(configuration: PostgresConfiguration, migrations: [PostgresMigration]) throws(PostgresError) {
        guard configuration.readerCount >= 1, configuration.writerCount >= 1 else {
            throw PostgresError.misuse("readerCount and writerCount must be at least 1")
        }
        self.configuration = configuration
        let settings = configuration.connectionSettings
        let migrator = try PostgresConnection(url: configuration.url, settings: settings)
        try PostgresMigrator.migrate(
            migrator, migrations, lockTimeoutMilliseconds: configuration.migrationLockTimeoutMilliseconds)
        migrator.close()
        var readers: [PostgresReader] = []
        for _ in 0..<configuration.readerCount {
            readers.append(PostgresReader(try PostgresConnection(url: configuration.url, settings: settings)))
        }
        var writers: [PostgresWriter] = []
        for _ in 0..<configuration.writerCount {
            writers.append(PostgresWriter(try PostgresConnection(url: configuration.url, settings: settings)))
        }
        self.readers = PostgresReaderPool(readers)
        self.writers = try PostgresWriterPool(writers: writers, maxRetries: configuration.maxRetries,
                                              counters: counters)
    }

    deinit {
        close()
    }

    /// Runs `body` on a reader connection inside one read-only snapshot.
    ///
    /// Blocks while every reader is busy. Errors thrown by `body` are rethrown unchanged after
    /// the rollback.
    public func read<T: Sendable>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let reader = try readers.checkOut()
        defer { readers.checkIn(reader) }
        counters.reads.add(1, ordering: .relaxed)
        return try reader.inSnapshot(body)
    }

    /// Runs `body` on a writer connection and returns once its transaction has committed.
    ///
    /// A serialization failure or deadlock rolls back and runs `body` again (at most
    /// `maxRetries` times, then the job fails with that error). A body's own error rolls back
    /// and comes back unchanged. Blocks the calling thread; refused inside a write body.
    public func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) throws -> T {
        let job = BlockingPostgresWrite(body, waiter: PThreadCondition.forCurrentThread)
        try writers.submit(job)
        return try job.finalResult.get()
    }

    /// Like `write`, but returns at once: the writer thread calls `completion` with the result
    /// after COMMIT returned (or at once here if the database is closed). `completion` holds
    /// up that writer while it runs: hand the result on, do no work there.
    public func write<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        do {
            try writers.enqueue(DeferredPostgresWrite(body, completion: completion))
        } catch {
            completion(.failure(error))
        }
    }

    /// `observer` runs on the writer thread after each COMMIT whose transaction called
    /// `PostgresConnection.requestCommitNotification()`; it must return quickly.
    public func addCommitObserver(_ observer: @escaping @Sendable () -> Void) {
        writers.addCommitObserver(observer)
    }

    /// Stops taking writes, finishes the queued ones and closes every connection (readers in
    /// use close when their `read` returns). Idempotent; later writes fail.
    public func close() {
        writers.close()
        readers.close()
    }

    /// Writes queued and not yet taken by a writer: a measure of write pressure.
    public var pendingWriteCount: Int {
        writers.pendingCount
    }

    public var statistics: PostgresStatistics {
        counters.snapshot
    }

    /// A cheap readiness check: every writer thread runs, and an idle reader (if any is idle;
    /// busy readers prove the pool works) can run `SELECT 1`, reconnecting first if needed.
    public var isHealthy: Bool {
        guard writers.isAlive else { return false }
        guard let reader = readers.tryCheckOut() else { return !readers.isClosed }
        defer { readers.checkIn(reader) }
        do {
            return try reader.inSnapshot { connection in
                try connection.query("SELECT 1") == [[.integer(1)]]
            }
        } catch {
            return false
        }
    }
}
