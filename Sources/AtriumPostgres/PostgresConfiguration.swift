/// Everything `PostgresDatabase` needs to open its pools, in one value so that command-line
/// flags map onto it field by field.
public struct PostgresConfiguration: Sendable {
    /// A `postgres://` or `postgresql://` libpq URI.
    public var url: String
    /// Reader connections; `read` blocks while all are checked out.
    public var readerCount: Int = 4
    /// Writer threads, each with its own connection, taking jobs from one FIFO queue.
    public var writerCount: Int = 8
    /// How many times a write is run again after a serialization failure or deadlock before it
    /// fails with that error.
    public var maxRetries: Int = 10
    /// libpq `connect_timeout`, so an unreachable server fails a connect instead of hanging.
    public var connectTimeoutSeconds: Int = 10
    /// `statement_timeout` of every pooled connection; 0 turns it off.
    public var statementTimeoutMilliseconds: Int = 30_000
    /// `idle_in_transaction_session_timeout` of every pooled connection; 0 turns it off.
    public var idleInTransactionTimeoutMilliseconds: Int = 60_000
    /// How long start-up waits for another instance's migrations (`lock_timeout` on the
    /// migration lock) before failing.
    public var migrationLockTimeoutMilliseconds: Int = 300_000

    public init(url: String) {
        self.url = url
    }

    var connectionSettings: ConnectionSettings {
        var settings = ConnectionSettings()
        settings.connectTimeoutSeconds = max(1, connectTimeoutSeconds)
        settings.statementTimeoutMilliseconds = max(0, statementTimeoutMilliseconds)
        settings.idleInTransactionTimeoutMilliseconds = max(0, idleInTransactionTimeoutMilliseconds)
        return settings
    }
}
