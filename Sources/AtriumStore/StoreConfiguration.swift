/// How hard the store syncs to disk at each commit.
///
/// `full` (the default) makes an acknowledged write survive power loss; `normal` survives a
/// process crash only; `off` is for benchmarks. The store's own type, so configuration code
/// above it never names the SQLite layer.
public enum StoreSynchronous: String, Sendable, CaseIterable {
    case full, normal, off
}

/// Everything `Store` needs to open a data directory, so command-line flags map onto it
/// field by field.
public struct StoreConfiguration: Sendable {
    /// The directory holding `atrium.db` (created when missing).
    public var dataDirectory: String
    public var synchronous: StoreSynchronous = .full
    /// Reader connections in the pool.
    public var readerCount = 4
    /// Group commit: at most this many writes share one transaction.
    public var maxBatchSize = 256
    /// How long a write waits for another process's lock (an admin command) before the
    /// request is answered `StoreError.busy`.
    public var busyTimeoutMilliseconds: Int32 = 5000
    /// A cap on the database's size in pages, past which writes fail as on a full disk. nil =
    /// none. Only for tests of the full-disk path where a small file system cannot be mounted.
    public var maxPageCount: Int?
    /// Take the data directory's lock (`atrium serve`): a second process asking for it is
    /// refused with `StoreError.unusable`. Admin commands leave it off.
    public var exclusive = false
    /// A `postgres://` or `postgresql://` URL: the store runs on PostgreSQL instead of a
    /// SQLite file in `dataDirectory` (server.md, "Growing past one machine").
    public var databaseURL: String?
    /// PostgreSQL only: writer connections, each running one write transaction at a time.
    public var postgresWriterCount = 8

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// The database file inside the data directory.
    public var databasePath: String { dataDirectory + "/atrium.db" }
}
