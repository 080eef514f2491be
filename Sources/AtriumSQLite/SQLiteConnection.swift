import CSQLite

/// One SQLite connection, with its cache of prepared statements.
///
/// Not `Sendable`: a connection is confined to one thread at a time (it is opened with
/// `SQLITE_OPEN_NOMUTEX`). `SQLiteDatabase` owns every connection and lends one to a `read`
/// or `write` body for the body's duration; a body must not keep it.
public final class SQLiteConnection {
    /// The `sqlite3*` handle; nil once closed.
    private(set) var db: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    /// Set by a write body that wants the database's commit observer told once its
    /// transaction is durable (see `SQLiteDatabase.addCommitObserver`).
    var commitNotificationRequested = false

    /// Opens `path` with `flags` and turns on extended result codes. No pragmas.
    init(path: String, flags: Int32, busyTimeoutMilliseconds: Int32) throws(SQLiteError) {
        var handle: OpaquePointer?
        _ = SQLiteLibrary.configured
        let rc = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard rc == SQLITE_OK, let handle else {
            let error = SQLiteError.current(handle, code: rc)
            sqlite3_close_v2(handle)
            throw SQLiteError(code: error.code, message: "cannot open \(path): \(error.message)")
        }
        db = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
    }

    deinit {
        close()
    }

    /// Asks for the commit observer to run after this write's transaction commits. Harmless
    /// outside the writer, and when the write is later rolled back (a spurious wake-up).
    public func requestCommitNotification() {
        commitNotificationRequested = true
    }

    /// Finalizes the cached statements and closes the connection. Idempotent.
    ///
    /// `sqlite3_close_v2` keeps the handle alive as a zombie while a statement someone still
    /// holds is unfinalized, so a stray reference never points at freed memory.
    func close() {
        statements.removeAll()
        if let db {
            sqlite3_close_v2(db)
            self.db = nil
        }
    }

    private func openHandle(sql: String? = nil) throws(SQLiteError) -> OpaquePointer {
        guard let db else { throw SQLiteError.misuse("connection is closed", sql: sql) }
        return db
    }

    /// Runs one or more statements that return no rows (schema changes, pragmas).
    public func execute(_ sql: String) throws(SQLiteError) {
        let db = try openHandle(sql: sql)
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(errorMessage)
            throw SQLiteError(code: sqlite3_extended_errcode(db), message: message, sql: sql)
        }
    }

    /// The statement for `sql`, compiled once per connection and then reused.
    ///
    /// It comes back reset with its bindings cleared, so the previous user's state never leaks.
    /// Asking for the same SQL again while a previous use is still stepping resets that use.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let statement = statements[sql] {
            statement.reset()
            return statement
        }
        let statement = try compile(sql)
        statements[sql] = statement
        return statement
    }

    /// Compiles exactly one statement; trailing statements are refused, not silently dropped.
    private func compile(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        let db = try openHandle(sql: sql)
        var handle: OpaquePointer?
        var trailing: OpaquePointer?
        let rc = sql.withCString { text -> Int32 in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v3(db, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, &tail)
            if rc == SQLITE_OK, let tail, tail.pointee != 0 {
                // Only comments and whitespace may follow; they compile to no statement.
                var rest: OpaquePointer?
                if sqlite3_prepare_v2(db, tail, -1, &rest, nil) == SQLITE_OK {
                    trailing = rest
                } else {
                    sqlite3_finalize(rest)
                }
            }
            return rc
        }
        guard rc == SQLITE_OK else {
            throw SQLiteError.current(db, code: rc, sql: sql)
        }
        guard let handle else {
            throw SQLiteError.misuse("no statement in SQL text", sql: sql)
        }
        if trailing != nil {
            sqlite3_finalize(trailing)
            sqlite3_finalize(handle)
            throw SQLiteError.misuse("prepare takes one statement; use execute for several", sql: sql)
        }
        return SQLiteStatement(handle: handle, db: db, sql: sql)
    }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 {
        db.map { sqlite3_last_insert_rowid($0) } ?? 0
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    public var changes: Int {
        db.map { Int(sqlite3_changes64($0)) } ?? 0
    }

    /// Runs a query and collects every row: a convenience for cold paths.
    public func query(_ sql: String, _ arguments: [SQLiteValue] = []) throws(SQLiteError) -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        var rows: [[SQLiteValue]] = []
        let columns = statement.columnCount
        while try statement.step() {
            var row: [SQLiteValue] = []
            row.reserveCapacity(Int(columns))
            for column in 0..<columns {
                row.append(statement.value(column))
            }
            rows.append(row)
        }
        return rows
    }

    /// Binds `arguments` and steps to the end, ignoring rows: a convenience for cold paths.
    public func run(_ sql: String, _ arguments: [SQLiteValue] = []) throws(SQLiteError) {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        try statement.runToCompletion()
    }

    // MARK: Internals for the database

    /// True outside any transaction (SQLite's autocommit mode).
    var isAutocommit: Bool {
        db.map { sqlite3_get_autocommit($0) != 0 } ?? true
    }

    /// Resets every statement still stepping, so none keeps a snapshot or a pending write
    /// past the end of a `read` or `write` body (SQLite would otherwise keep the old read
    /// transaction open and a later read could miss a committed write).
    func resetActiveStatements() {
        guard let db else { return }
        var statement = sqlite3_next_stmt(db, nil)
        while let current = statement {
            if sqlite3_stmt_busy(current) != 0 {
                sqlite3_reset(current)
            }
            statement = sqlite3_next_stmt(db, current)
        }
    }

    /// A constraint error when the transaction holds unresolved deferred foreign keys, which
    /// SQLite would otherwise only report at COMMIT (failing a whole group-commit batch).
    func deferredForeignKeyViolation() -> SQLiteError? {
        guard let db else { return nil }
        var current: Int32 = 0
        var highwater: Int32 = 0
        sqlite3_db_status(db, SQLITE_DBSTATUS_DEFERRED_FKS, &current, &highwater, 0)
        guard current > 0 else { return nil }
        return SQLiteError(code: SQLiteError.constraintForeignKey, message: "FOREIGN KEY constraint failed")
    }

    /// The single text value of a one-row pragma or query.
    func scalarText(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.string(0)
    }

    /// Makes every COMMIT fail (`SQLITE_CONSTRAINT_COMMITHOOK`) while on: lets tests see
    /// how a failed group commit is reported.
    func setCommitVeto(_ on: Bool) {
        guard let db else { return }
        if on {
            sqlite3_commit_hook(db, { _ in 1 }, nil)
        } else {
            sqlite3_commit_hook(db, nil, nil)
        }
    }
}

/// Confined to one thread at a time: never `Sendable`, not even by a later `@unchecked` claim.
@available(*, unavailable)
extension SQLiteConnection: Sendable {}

/// One-time library configuration, done before the first connection opens.
enum SQLiteLibrary {
    static let configured: Bool = {
        atrium_sqlite_disable_memstatus() == SQLITE_OK
    }()
}
