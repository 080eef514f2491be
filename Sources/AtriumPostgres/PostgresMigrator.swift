/// Brings a PostgreSQL database's schema up to the binary's list of migrations.
///
/// Instances starting together must apply each version exactly once, so the whole run holds
/// a session advisory lock (released by PostgreSQL if the process dies). Each pending
/// migration runs with its `schema_migrations` row in one transaction. A database holding a
/// version this binary does not know was written by a newer release and is refused. The
/// table matches SQLite's (`applied_at` is UTC ISO-8601 text with milliseconds).
enum PostgresMigrator {
    /// The advisory lock key of Atrium's migrations: "AtriumMg" in ASCII.
    static let lockKey: Int64 = 0x4174_7269_756D_4D67

    static func migrate(
        _ connection: PostgresConnection, _ migrations: [PostgresMigration], lockTimeoutMilliseconds: Int
    ) throws(PostgresError) {
        let ordered = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.version == next.version {
            throw PostgresError.misuse("two migrations share version \(next.version)")
        }
        try connection.execute("SET statement_timeout = 0; SET lock_timeout = \(max(1, lockTimeoutMilliseconds))")
        do {
            try connection.execute("SELECT pg_advisory_lock(\(lockKey))")
        } catch where error.sqlState == "55P03" {
            throw PostgresError(
                sqlState: error.sqlState,
                message: "timed out waiting for another Atrium instance to finish the migrations", sql: error.sql)
        }
        defer { try? connection.execute("SELECT pg_advisory_unlock(\(lockKey))") }
        try connection.execute("RESET lock_timeout")
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)
            """)
        var applied = Set<Int64>()
        for row in try connection.query("SELECT version FROM schema_migrations") {
            if case .integer(let version) = row.first { applied.insert(version) }
        }
        let newest = ordered.last?.version ?? 0
        if let highest = applied.max(), highest > Int64(newest) {
            throw PostgresError.misuse(
                "the database schema is at version \(highest), newer than this binary's \(newest): upgrade atrium")
        }
        let known = Set(ordered.map { Int64($0.version) })
        if let unknown = applied.subtracting(known).max() {
            throw PostgresError.misuse(
                "the database has migration \(unknown), unknown to this binary (latest known: \(newest))")
        }
        for migration in ordered where !applied.contains(Int64(migration.version)) {
            try apply(migration, on: connection)
        }
    }

    private static func apply(_ migration: PostgresMigration, on connection: PostgresConnection) throws(PostgresError) {
        do {
            try connection.execute("BEGIN")
            try connection.execute(migration.sql)
            try connection.run(
                """
                INSERT INTO schema_migrations (version, name, applied_at)
                VALUES (?, ?, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                """,
                [.integer(Int64(migration.version)), .text(migration.name)])
            try connection.execute("COMMIT")
        } catch {
            if connection.isOpen { try? connection.execute("ROLLBACK") }
            throw PostgresError(
                sqlState: error.sqlState,
                message: "migration \(migration.version) (\(migration.name)) failed: \(error.message)",
                sql: error.sql, connectionBroken: error.connectionBroken)
        }
    }
}
