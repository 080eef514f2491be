import AtriumPostgres
import AtriumSQLite

/// A failure the layers above the store can act on, raised by its queries or at its boundary
/// (`Store.read`, `Store.write`), so no caller ever branches on a SQLite result code: the API
/// maps each case to a contract error. Anything else is unexpected and becomes a logged 500.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A unique value (an email, a membership) already exists.
    case conflict(String)
    /// The row to change does not exist (or is not visible to the caller).
    case notFound
    /// The database stayed locked (by another process, e.g. an admin command) past the busy
    /// timeout: nothing was written; retrying shortly is safe.
    case busy
    /// The disk holding the data directory is full (or the page limit is reached): nothing of
    /// this write was kept. Reads still work, and writes succeed again once space is freed.
    case storageFull
    /// A stored value the store cannot decode (an unknown role, key mode, status): the row
    /// was written by something other than this release, or damaged. The text names the
    /// column and the value, never a secret.
    case corrupt(String)
    /// The data directory or its database cannot be used (not a directory, read-only, not a
    /// SQLite database, damaged, served by another process): the text names the path and the
    /// problem, for an operator.
    case unusable(String)

    /// The store-level error for a failed statement, or nil when the caller cannot act on it.
    /// A lost database connection is `busy`: nothing was kept, and the engine reconnects, so
    /// the caller answers 503 with `Retry-After`.
    static func from(_ error: SQLError) -> StoreError? {
        switch error.kind {
        case .busy, .connectionLost: return .busy
        case .full: return .storageFull
        case .uniqueViolation, .constraintViolation, .other: return nil
        }
    }

    /// `error` with the engines' busy, lost-connection and full failures turned into store
    /// errors.
    static func translating(_ error: any Error) -> any Error {
        if let failure = error as? SQLError, let store = from(failure) { return store }
        if let sqlite = error as? SQLiteError, let store = from(SQLError(sqlite)) { return store }
        if let postgres = error as? PostgresError, let store = from(SQLError(postgres)) { return store }
        return error
    }

    public var description: String {
        switch self {
        case .conflict(let what): return "conflict: \(what) already exists"
        case .notFound: return "not found"
        case .busy: return "the database is busy"
        case .storageFull: return "storage full: the disk holding the data directory has no room left"
        case .corrupt(let detail): return "corrupt stored value: \(detail)"
        case .unusable(let detail): return detail
        }
    }
}
