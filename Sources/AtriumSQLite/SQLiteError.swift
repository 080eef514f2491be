import CSQLite

/// A SQLite failure with its extended result code.
///
/// It exists so callers can branch on *what* failed (a constraint, a busy database) without
/// parsing text, and so logs say which statement failed. It never contains bound argument
/// values: those may be secrets (password hashes, tokens), so only the SQL text is kept.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (for example `SQLITE_CONSTRAINT_UNIQUE`, 2067).
    public let code: Int32
    /// SQLite's message for the failure, or ours for misuse detected in Swift.
    public let message: String
    /// The SQL text of the failing statement, when there is one.
    public let sql: String?

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, …): the low byte.
    public var primaryCode: Int32 { code & 0xFF }

    /// True for any `SQLITE_CONSTRAINT_*` failure (unique, foreign key, check, not null, …).
    public var isConstraintViolation: Bool { primaryCode == SQLITE_CONSTRAINT }

    /// True for a UNIQUE or PRIMARY KEY violation (a duplicate), e.g. to answer 409.
    public var isUniqueViolation: Bool {
        code == SQLiteError.constraintUnique || code == SQLiteError.constraintPrimaryKey
    }

    /// True for a FOREIGN KEY violation (a reference to a missing row).
    public var isForeignKeyViolation: Bool { code == SQLiteError.constraintForeignKey }

    /// True when the database stayed locked by another connection past the busy timeout
    /// (`SQLITE_BUSY`), or a table by another statement of a shared cache (`SQLITE_LOCKED`).
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    /// True when the disk (or `PRAGMA max_page_count`) left no room for the write (`SQLITE_FULL`).
    public var isFull: Bool { primaryCode == SQLITE_FULL }

    public var description: String {
        var text = "SQLite error \(code)"
        if let name = sqlite3_errstr(code) {
            text += " (\(String(cString: name)))"
        }
        text += ": \(message)"
        if let sql {
            text += " [SQL: \(sql)]"
        }
        return text
    }
}

extension SQLiteError {
    // Extended codes are C macro expressions, which Swift does not import.
    static let constraintForeignKey: Int32 = SQLITE_CONSTRAINT | (3 << 8)
    static let constraintPrimaryKey: Int32 = SQLITE_CONSTRAINT | (6 << 8)
    static let constraintUnique: Int32 = SQLITE_CONSTRAINT | (8 << 8)
    static let constraintCommitHook: Int32 = SQLITE_CONSTRAINT | (2 << 8)

    /// The connection's current error, for a failing call on `db`.
    static func current(_ db: OpaquePointer?, code: Int32, sql: String? = nil) -> SQLiteError {
        let message = db.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "unknown error"
        return SQLiteError(code: code, message: message, sql: sql)
    }

    /// An API misuse caught on the Swift side (closed database, wrong argument count, …).
    static func misuse(_ message: String, sql: String? = nil) -> SQLiteError {
        SQLiteError(code: SQLITE_MISUSE, message: message, sql: sql)
    }
}
