import CSQLite

/// Brings a database's schema up to the binary's list of migrations.
///
/// Each pending migration runs with its `schema_migrations` record in one `BEGIN IMMEDIATE`
/// transaction, so a crash or a failing statement leaves the database at the previous
/// version. A database that records a version this binary does not know was written by a
/// newer release; opening it is refused rather than risking a schema we do not understand.
enum SQLiteMigrator {
    static func migrate(_ connection: SQLiteConnection, _ migrations: [Migration]) throws(SQLiteError) {
        let ordered = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.version == next.version {
            throw SQLiteError.misuse("two migrations share version \(next.version)")
        }
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations(
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)
            """)
        let applied = try appliedVersions(connection)
        let known = Set(ordered.map { Int64($0.version) })
        if let unknown = applied.subtracting(known).max() {
            throw SQLiteError(
                code: SQLITE_ERROR,
                message: "the database has migration \(unknown), unknown to this binary "
                    + "(latest known: \(ordered.last?.version ?? 0)); it was written by a newer release")
        }
        for migration in ordered where !applied.contains(Int64(migration.version)) {
            try apply(migration, on: connection)
        }
    }

    private static func appliedVersions(_ connection: SQLiteConnection) throws(SQLiteError) -> Set<Int64> {
        let statement = try connection.prepare("SELECT version FROM schema_migrations")
        defer { statement.reset() }
        var versions = Set<Int64>()
        while try statement.step() {
            versions.insert(statement.int64(0))
        }
        return versions
    }

    private static func apply(_ migration: Migration, on connection: SQLiteConnection) throws(SQLiteError) {
        try connection.execute("BEGIN IMMEDIATE")
        do {
            // Another process may have applied it between our check and our lock.
            let done = try connection.query(
                "SELECT 1 FROM schema_migrations WHERE version = ?", [.integer(Int64(migration.version))])
            if done.isEmpty {
                try connection.execute(migration.sql)
                try migration.afterSQL?(connection)
                try connection.run(
                    """
                    INSERT INTO schema_migrations(version, name, applied_at)
                    VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                    """,
                    [.integer(Int64(migration.version)), .text(migration.name)])
            }
            try connection.execute("COMMIT")
        } catch {
            connection.resetActiveStatements()
            if !connection.isAutocommit {
                try? connection.execute("ROLLBACK")
            }
            throw SQLiteError(
                code: error.code,
                message: "migration \(migration.version) (\(migration.name)) failed: \(error.message)",
                sql: error.sql)
        }
    }
}
