/// One versioned schema change, applied once, in version order, with its record in
/// `schema_migrations` inside the same transaction (so a crash never half-applies it).
///
/// The SQL must not contain its own `BEGIN`/`COMMIT`: the migrator owns the transaction.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
    /// Work SQL alone cannot do (SQLite has no SHA-256, for one), run after `sql` in the same
    /// transaction, so the version is recorded only once both are done.
    public var afterSQL: (@Sendable (SQLiteConnection) throws(SQLiteError) -> Void)?

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// This migration with `step` run after its SQL, in its transaction.
    public func followed(by step: @escaping @Sendable (SQLiteConnection) throws(SQLiteError) -> Void) -> Migration {
        var migration = self
        migration.afterSQL = step
        return migration
    }
}
