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
    let database: SQLiteDatabase
    public let path: String
    private let log: @Sendable (String) -> Void
    private let storageFull = StorageFullLog()
    /// Held while the store is open, for a server (`StoreConfiguration.exclusive`).
    private let lock: DataDirectoryLock?

    /// Opens (creating if needed) `<dataDirectory>/atrium.db` and applies migrations.
    /// `log` receives rare operational messages (a full disk), one line each.
    public init(configuration: StoreConfiguration,
                log: @escaping @Sendable (String) -> Void = { Store.standardError($0) }) throws(StoreError) {
        path = configuration.databasePath
        self.log = log
        try DataDirectoryCheck.verify(configuration.dataDirectory, databasePath: path)
        lock = configuration.exclusive ? try DataDirectoryLock(directory: configuration.dataDirectory) : nil
        var sqlite = SQLiteConfiguration(path: path)
        sqlite.synchronous = SQLiteSynchronous(configuration.synchronous)
        sqlite.readerCount = configuration.readerCount
        sqlite.maxBatchSize = configuration.maxBatchSize
        sqlite.maxPageCount = configuration.maxPageCount
        sqlite.busyTimeoutMilliseconds = configuration.busyTimeoutMilliseconds
        do {
            database = try SQLiteDatabase(configuration: sqlite,
                                          migrations: InvitationToken.migrations(EmbeddedMigrations.all))
        } catch {
            throw DataDirectoryCheck.openFailure(error, path: path)
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
            return try database.read { connection in try body(StoreReader(connection: .sqlite(connection))) }
        } catch {
            throw translated(error)
        }
    }

    /// Runs `body` in the writer's next group commit; returns once it is durable.
    public func write<T: Sendable>(_ body: @escaping @Sendable (StoreWriter) throws -> T) throws -> T {
        do {
            return try database.write { connection in try body(StoreWriter(connection: .sqlite(connection))) }
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
        database.write({ connection in try body(StoreWriter(connection: .sqlite(connection))) }) { [self] result in
            completion(result.mapError { translated($0) })
        }
    }

    /// `observer` runs after each commit of a write that asked for it
    /// (`StoreWriter.requestCommitNotification`), on the writer thread: signal, don't work.
    /// Several may observe (the webhook dispatcher, the event streams); each is told of every
    /// such commit.
    public func onCommit(_ observer: @escaping @Sendable () -> Void) {
        database.addCommitObserver(observer)
    }

    /// A cheap readiness check: the writer takes writes and a reader answers.
    public var isHealthy: Bool { database.isHealthy }

    public var statistics: StoreStatistics {
        let s = database.statistics
        return StoreStatistics(commits: s.commits, writes: s.writes, failedWrites: s.failedWrites,
                               largestBatch: s.largestBatch, commitNanoseconds: s.commitNanoseconds, reads: s.reads,
                               storageFullWrites: storageFull.count)
    }

    public func close() { database.close() }

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
