/// One versioned schema change for PostgreSQL, applied once, in version order, with its
/// record in `schema_migrations` inside the same transaction.
///
/// The PostgreSQL twin of AtriumSQLite's `Migration`: the same versions and names, SQL
/// translated for the engine (PostgreSQL can hash in SQL, so there is no Swift step). The SQL
/// must not contain its own `BEGIN`/`COMMIT`: the migrator owns the transaction.
public struct PostgresMigration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}
