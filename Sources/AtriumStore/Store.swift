import AtriumSQLite
import Glibc

/// A failure the domain cares about, raised by the store's queries: the API maps each to a
/// contract error. Anything else is a `SQLiteError` and becomes a 500.
public enum StoreError: Error, Sendable, Equatable {
    /// A unique value (an email, a membership) already exists.
    case conflict(String)
    /// The row to change does not exist (or is not visible to the caller).
    case notFound
}

/// Atrium's database: the only way handlers reach data. It exposes narrow read and write
/// scopes (`StoreReader`, `StoreWriter`) whose methods hold all the SQL, so a second backend
/// can later implement the same scopes.
public final class Store: Sendable {
    public let database: SQLiteDatabase
    public let path: String

    /// Opens (creating if needed) `<dataDirectory>/atrium.db` and applies migrations.
    public init(dataDirectory: String, synchronous: SQLiteSynchronous = .full, readerCount: Int = 4,
                maxBatchSize: Int = 256) throws(SQLiteError) {
        path = dataDirectory + "/atrium.db"
        var configuration = SQLiteConfiguration(path: path)
        configuration.synchronous = synchronous
        configuration.readerCount = readerCount
        configuration.maxBatchSize = maxBatchSize
        database = try SQLiteDatabase(configuration: configuration, migrations: EmbeddedMigrations.all)
    }

    /// Runs `body` on a reader connection inside one snapshot.
    public func read<T: Sendable>(_ body: (StoreReader) throws -> T) throws -> T {
        try database.read { connection in try body(StoreReader(connection: connection)) }
    }

    /// Runs `body` in the writer's next group commit; returns once it is durable.
    public func write<T: Sendable>(_ body: @escaping @Sendable (StoreWriter) throws -> T) throws -> T {
        try database.write { connection in try body(StoreWriter(connection: connection)) }
    }

    /// Runs `body` in the writer's next group commit without waiting for it: `completion`
    /// gets the result on the writer thread once it is durable (see `SQLiteDatabase.write`).
    public func write<T: Sendable>(
        _ body: @escaping @Sendable (StoreWriter) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        database.write({ connection in try body(StoreWriter(connection: connection)) }, completion: completion)
    }

    public func close() { database.close() }
}

/// Milliseconds since the epoch, the unit every stored time uses.
public enum Clock {
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec / 1_000_000)
    }
}
