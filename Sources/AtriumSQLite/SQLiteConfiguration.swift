/// How hard SQLite syncs to disk at each commit (`PRAGMA synchronous`).
///
/// `full` (the default) is what makes an acknowledged write survive power loss in WAL mode;
/// `normal` survives a process crash only; `off` is for benchmarks.
public enum SQLiteSynchronous: String, Sendable {
    case off = "OFF"
    case normal = "NORMAL"
    case full = "FULL"
}

/// Everything `SQLiteDatabase` needs to open a database file, in one value so that
/// command-line flags map onto it field by field.
public struct SQLiteConfiguration: Sendable {
    /// The database file; it and its parent directories are created when missing.
    public var path: String
    public var synchronous: SQLiteSynchronous = .full
    /// How long a connection waits on another process's lock before failing with `SQLITE_BUSY`.
    public var busyTimeoutMilliseconds: Int32 = 5000
    /// Reader connections in the pool; `read` blocks while all are checked out.
    public var readerCount: Int = 4
    /// Group commit: at most this many writes share one transaction.
    /// 1 gives one transaction (and one fsync) per write, for benchmarks.
    public var maxBatchSize: Int = 256
    /// `PRAGMA max_page_count` of the writer: past it a write fails with `SQLITE_FULL`, as on a
    /// full disk. nil = SQLite's default (no practical limit). For tests of the full-disk path.
    public var maxPageCount: Int?

    public init(path: String) {
        self.path = path
    }
}
