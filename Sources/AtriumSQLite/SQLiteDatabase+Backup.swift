import CSQLite

extension SQLiteDatabase {
    /// Copies the database at `sourcePath` into `destinationPath` with SQLite's online backup
    /// API, safely while another connection or process writes to the source (WAL).
    ///
    /// The copy is written beside the destination and renamed over it only once complete, so
    /// `destinationPath` is always either the old file or a complete, consistent database.
    /// The destination must not be open elsewhere.
    public static func backup(from sourcePath: String, to destinationPath: String) throws(SQLiteError) {
        let source = try SQLiteConnection(path: sourcePath, flags: SQLITE_OPEN_READWRITE, busyTimeoutMilliseconds: 5000)
        defer { source.close() }
        try FileSystem.createParentDirectories(of: destinationPath)
        let partialPath = destinationPath + ".partial"
        removeDatabaseFiles(partialPath)
        do {
            try copy(source, toNewFileAt: partialPath)
            // A stale WAL of the old destination must not be replayed into the copy.
            FileSystem.remove(destinationPath + "-wal")
            FileSystem.remove(destinationPath + "-shm")
            try FileSystem.replace(destinationPath, with: partialPath)
        } catch {
            removeDatabaseFiles(partialPath)
            throw error
        }
    }

    private static func copy(_ source: SQLiteConnection, toNewFileAt path: String) throws(SQLiteError) {
        let destination = try SQLiteConnection(
            path: path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busyTimeoutMilliseconds: 5000)
        defer { destination.close() }
        guard let sourceDB = source.db, let destinationDB = destination.db else {
            throw SQLiteError.misuse("connection is closed")
        }
        guard let backup = sqlite3_backup_init(destinationDB, "main", sourceDB, "main") else {
            throw SQLiteError.current(destinationDB, code: sqlite3_extended_errcode(destinationDB))
        }
        // step(-1) copies every page under one read transaction of the source: a snapshot.
        var rc = sqlite3_backup_step(backup, -1)
        var attempts = 0
        while (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempts < 250 {
            sqlite3_sleep(20)
            attempts += 1
            rc = sqlite3_backup_step(backup, -1)
        }
        let finish = sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else {
            throw SQLiteError(code: rc, message: "backup failed: \(String(cString: sqlite3_errstr(rc)))")
        }
        guard finish == SQLITE_OK else {
            throw SQLiteError.current(destinationDB, code: finish)
        }
    }

    private static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            FileSystem.remove(path + suffix)
        }
    }
}
