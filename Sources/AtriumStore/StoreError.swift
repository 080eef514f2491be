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

    /// The store-level error for a SQLite failure, or nil when the caller cannot act on it.
    static func from(_ error: SQLiteError) -> StoreError? {
        if error.isBusy { return .busy }
        if error.isFull { return .storageFull }
        return nil
    }

    /// `error` with SQLite's busy and full failures turned into store errors.
    static func translating(_ error: any Error) -> any Error {
        if let sqlite = error as? SQLiteError, let store = from(sqlite) { return store }
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
