import AtriumPostgres
import AtriumSQLite
// Rows carry AtriumModel's enums; re-exported so users of the store see them with it.
@_exported import AtriumModel
import Glibc

/// Atrium's database: the only way handlers reach data. It exposes narrow read and write
/// scopes (`StoreReader`, `StoreWriter`) whose methods hold all the SQL, so a second backend
/// can later implement the same scopes, and a store-level surface (commit notifications,
/// health, statistics, backup) so nothing above it handles a SQLite type.
///
/// At its boundary (`read`, `write`) a busy database and a full disk become `StoreError.busy`
/// and `StoreError.storageFull`; a full disk is also logged, at most once per
/// `storageFullLogInterval`.
public final class Store: Sendable {
    /// The engine the store runs on; nothing above the store knows which.
    enum Engine: Sendable {
        /// The embedded default: one writer with group commit, WAL readers.
        case sqlite(SQLiteDatabase)
        /// PostgreSQL, for several instances: pooled writers and readers, and the sequencer
        /// that orders committed events.
        case postgres(PostgresDatabase, OutboxSequencer)
    }

    let engine: Engine
    /// Where the data lives: the database file, or the PostgreSQL URL without its password.
    public let path: String
    private let log: @Sendable (String) -> Void
    private let storageFull = StorageFullLog()
    /// Held while the store is open, for a server (`StoreConfiguration.exclusive`).
    private let lock: DataDirectoryLock?
    /// On PostgreSQL: the notices exchanged with the other instances on the database.
    let cluster: StoreCluster?

    /// Opens (creating if needed) `<dataDirectory>/atrium.db` and applies migrations.
    /// `log` receives rare operational messages (a full disk), one line each.
    public init(configuration: StoreConfiguration,
                log: @escaping @Sendable (String) -> Void = { Store.standardError($0) }) throws(StoreError) {
        self.log = log
        if let url = configuration.databaseURL {
            path = PostgresURL.redacted(url)
            lock = nil
            let (engine, sequencer) = try Self.openPostgres(url: url, configuration: configuration, log: log)
            self.engine = engine
            cluster = StoreCluster(url: url, sequencer: sequencer, log: log)
            return
        }
        path = configuration.databasePath
        cluster = nil
        try DataDirectoryCheck.verify(configuration.dataDirectory, databasePath: path)
        lock = configuration.exclusive ? try DataDirectoryLock(directory: configuration.dataDirectory) : nil
        var sqlite = SQLiteConfiguration(path: path)
        sqlite.synchronous = SQLiteSynchronous(configuration.synchronous)
        sqlite.readerCount = configuration.readerCount
        sqlite.maxBatchSize = configuration.maxBatchSize
        sqlite.maxPageCount = configuration.maxPageCount
        sqlite.busyTimeoutMilliseconds = configuration.busyTimeoutMilliseconds
        do {
            engine = .sqlite(try SQLiteDatabase(configuration: sqlite,
                                                migrations: InvitationToken.migrations(EmbeddedMigrations.all)))
        } catch {
            throw DataDirectoryCheck.openFailure(error, path: path)
        }
    }

    private static func openPostgres(url: String, configuration: StoreConfiguration,
                                     log: @escaping @Sendable (String) -> Void)
        throws(StoreError) -> (Engine, OutboxSequencer)
    {
        var postgres = PostgresConfiguration(url: url)
        postgres.readerCount = configuration.readerCount
        postgres.writerCount = configuration.postgresWriterCount
        let database: PostgresDatabase
        do {
            try PostgresURL.validate(url)
            database = try PostgresDatabase(configuration: postgres, migrations: EmbeddedPostgresMigrations.all)
        } catch {
            throw StoreError.unusable("cannot use the PostgreSQL database at \(PostgresURL.redacted(url)): "
                                          + error.message)
        }
        let sequencer = OutboxSequencer(url: url, instanceID: StoreCluster.makeInstanceID(), log: log)
        database.addCommitObserver { sequencer.wake() }
        sequencer.start()
        return (.postgres(database, sequencer), sequencer)
    }

    /// The SQLite database when that is the engine: for tests of SQLite's own behaviour.
    var sqliteDatabase: SQLiteDatabase? {
        if case .sqlite(let database) = engine { return database }
        return nil
    }

    /// The SQL dialect of the engine, for tests and tools that write SQL of their own.
    public var dialect: SQLDialect {
        switch engine {
        case .sqlite: return .sqlite
        case .postgres: return .postgres
        }
    }

    /// Opens `<dataDirectory>/atrium.db` with the given settings and the default log.
    public convenience init(dataDirectory: String, synchronous: StoreSynchronous = .full, readerCount: Int = 4,
                            maxBatchSize: Int = 256) throws(StoreError) {
        var configuration = StoreConfiguration(dataDirectory: dataDirectory)
        configuration.synchronous = synchronous
        configuration.readerCount = readerCount
        configuration.maxBatchSize = maxBatchSize
        try self.init(configuration: configuration)
    }

    /// Checks that `dataDirectory` can hold a store (creating it when missing), without
    /// opening the database: for start-up, before anything else is written there.
    public static func checkDataDirectory(_ dataDirectory: String) throws(StoreError) {
        let configuration = StoreConfiguration(dataDirectory: dataDirectory)
        try DataDirectoryCheck.verify(dataDirectory, databasePath: configuration.databasePath)
    }

    /// Runs `body` on a reader connection inside one snapshot.
    public func read<T: Sendable>(_ body: (StoreReader) throws -> T) throws -> T {
        do {
            switch engine {
            case .sqlite(let database):
                return try database.read { connection in try body(StoreReader(connection: .sqlite(connection))) }
            case .postgres(let database, _):
                return try database.read { connection in try body(StoreReader(connection: .postgres(connection))) }
            }
        } catch {
            throw translated(error)
        }
    }

    /// Runs `body` in the writer's next group commit; returns once it is durable.
    public func write<T: Sendable>(_ body: @escaping @Sendable (StoreWriter) throws -> T) throws -> T {
        do {
            switch engine {
            case .sqlite(let database):
                return try database.write { connection in try body(StoreWriter(connection: .sqlite(connection))) }
            case .postgres(let database, let sequencer):
                let (value, wroteEvents) = try database.write { connection in
                    (try body(StoreWriter(connection: .postgres(connection))), connection.commitNotificationRequested)
                }
                if wroteEvents { sequencer.waitForNumbering() }
                return value
            }
        } catch {
            throw translated(error)
        }
    }

    /// Runs `body` in the writer's next group commit without waiting for it: `completion`
    /// gets the result on the writer thread once it is durable (see `SQLiteDatabase.write`).
    public func write<T: Sendable>(
        _ body: @escaping @Sendable (StoreWriter) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let finish: @Sendable (Result<T, any Error>) -> Void = { [self] result in
            completion(result.mapError { translated($0) })
        }
        switch engine {
        case .sqlite(let database):
            database.write({ connection in try body(StoreWriter(connection: .sqlite(connection))) }, completion: finish)
        case .postgres(let database, let sequencer):
            // A write that appended events is answered once they are numbered, so what the
            // caller reads next (the events list, a stream) has them, as on SQLite.
            database.write({ connection in
                (try body(StoreWriter(connection: .postgres(connection))), connection.commitNotificationRequested)
            }) { result in
                switch result {
                case .success((let value, true)): sequencer.afterNumbering { finish(.success(value)) }
                case .success((let value, false)): finish(.success(value))
                case .failure(let error): finish(.failure(error))
                }
            }
        }
    }

    /// `observer` runs after each commit of a write that asked for it
    /// (`StoreWriter.requestCommitNotification`), on the writer thread: signal, don't work.
    /// Several may observe (the webhook dispatcher, the event streams); each is told of every
    /// such commit.
    /// On PostgreSQL observers run after the sequencer numbered the new events (on its
    /// thread), so what they read includes them, and also when another instance on the
    /// database announces a commit (`ClusterListener`): an observer hears of every commit
    /// of the cluster, its own instance's at once, the others' after one notification.
    public func onCommit(_ observer: @escaping @Sendable () -> Void) {
        switch engine {
        case .sqlite(let database): database.addCommitObserver(observer)
        case .postgres(_, let sequencer): sequencer.addObserver(observer)
        }
        cluster?.startListening()
    }

    /// `observer` hears of webhook endpoint changes made by other instances on the database
    /// (never on SQLite: one process, which knows its own).
    public func onRemoteEndpointChange(_ observer: @escaping @Sendable (Int64) -> Void) {
        cluster?.onEndpointsChanged(observer)
    }

    /// Tells the other instances on the database that an endpoint of `workspaceID` was
    /// created, changed or deleted (after the change committed). Nothing on SQLite.
    public func announceEndpointsChanged(workspaceID: Int64) {
        cluster?.announceEndpointsChanged(workspaceID)
    }

    /// Names this process among the instances on the database ("local" on SQLite).
    public var instanceID: String { cluster?.instanceID ?? "local" }

    /// A cheap readiness check: the writer takes writes and a reader answers.
    public var isHealthy: Bool {
        switch engine {
        case .sqlite(let database): return database.isHealthy
        case .postgres(let database, _): return database.isHealthy
        }
    }

    public var statistics: StoreStatistics {
        switch engine {
        case .sqlite(let database):
            let s = database.statistics
            return StoreStatistics(commits: s.commits, writes: s.writes, failedWrites: s.failedWrites,
                                   largestBatch: s.largestBatch, commitNanoseconds: s.commitNanoseconds,
                                   reads: s.reads, storageFullWrites: storageFull.count)
        case .postgres(let database, _):
            let s = database.statistics
            return StoreStatistics(commits: s.commits, writes: s.writes, failedWrites: s.failedWrites,
                                   largestBatch: 1, commitNanoseconds: 0, reads: s.reads,
                                   storageFullWrites: storageFull.count)
        }
    }

    /// Finishes the queued writes and closes every connection.
    public func close() {
        switch engine {
        case .sqlite(let database):
            database.close()
        case .postgres(let database, let sequencer):
            cluster?.stop()
            database.close()
            sequencer.stop()
        }
    }

    /// A busy database and a full disk as store errors; a full disk is counted and logged.
    private func translated(_ error: any Error) -> any Error {
        let result = StoreError.translating(error)
        if case StoreError.storageFull? = result as? StoreError, let line = storageFull.record(now: Clock.seconds()) {
            log(line)
        }
        return result
    }

    /// The default log: one line on standard error.
    public static func standardError(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

extension SQLiteSynchronous {
    init(_ mode: StoreSynchronous) {
        switch mode {
        case .full: self = .full
        case .normal: self = .normal
        case .off: self = .off
        }
    }
}

/// Milliseconds since the epoch, the unit every stored time uses.
public enum Clock {
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec / 1_000_000)
    }

    static func seconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec)
    }
}

extension Store {
    /// A consistent copy of the database of `dataDirectory` at `destination`, safe while a
    /// server writes to it (SQLite's online backup); the destination is replaced atomically.
    public static func backup(dataDirectory: String, to destination: String) throws(StoreError) {
        let source = StoreConfiguration(dataDirectory: dataDirectory).databasePath
        do {
            try SQLiteDatabase.backup(from: source, to: destination)
        } catch {
            throw StoreError.from(SQLError(error))
                ?? .unusable("backup of \(source) to \(destination) failed: \(error.message)")
        }
    }
}
