import CSQLite

extension SQLiteConnection {
    /// What a connection is for; it decides the open flags and the pragmas.
    enum Role {
        /// The one connection that writes: creates the file, runs migrations and every write.
        case writer
        /// A pooled connection that only reads (`query_only`).
        case reader
    }

    /// Opens a connection of the database at `configuration.path` and applies the pragmas
    /// every Atrium connection needs: WAL (checked), foreign keys, synchronous, busy timeout.
    static func open(_ configuration: SQLiteConfiguration, role: Role) throws(SQLiteError) -> SQLiteConnection {
        let flags = role == .writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READWRITE
        let connection = try SQLiteConnection(
            path: configuration.path, flags: flags,
            busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
        let mode = try connection.scalarText("PRAGMA journal_mode=WAL")
        guard mode?.lowercased() == "wal" else {
            throw SQLiteError(
                code: SQLITE_ERROR,
                message: "cannot enable WAL journal mode (got \(mode ?? "nothing")) for \(configuration.path)")
        }
        try connection.execute(
            "PRAGMA foreign_keys=ON; PRAGMA synchronous=\(configuration.synchronous.rawValue)")
        if role == .reader {
            try connection.execute("PRAGMA query_only=ON")
        } else if let pages = configuration.maxPageCount {
            _ = try connection.scalarText("PRAGMA max_page_count=\(max(1, pages))")
        }
        return connection
    }
}
