/// One versioned schema change, applied once, in version order, with its record in
/// `schema_migrations` inside the same transaction (so a crash never half-applies it).
///
/// The SQL must not contain its own `BEGIN`/`COMMIT`: the migrator owns the transaction.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}
