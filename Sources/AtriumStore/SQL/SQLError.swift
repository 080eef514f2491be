import AtriumPostgres
import AtriumSQLite

/// A failed statement, whichever engine ran it, classified into what the store acts on.
///
/// The store's queries throw it (typed), so no code above an engine branches on a SQLite
/// result code or a PostgreSQL SQLSTATE. `StoreError.translating` turns the classes a caller
/// can act on into store errors at the `Store` boundary.
public struct SQLError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this was, as far as the store cares.
    public enum Kind: Sendable, Equatable {
        /// A unique key already holds the value.
        case uniqueViolation
        /// Another constraint (a foreign key, NOT NULL, CHECK) refused the row.
        case constraintViolation
        /// The database stayed locked, or a transaction lost a serialization race more often
        /// than its retries allow: nothing was written, and retrying shortly is safe.
        case busy
        /// The disk holding the database is full.
        case full
        /// The connection to the database server is gone (it restarted, or the network
        /// failed): nothing of an unfinished transaction was kept.
        case connectionLost
        /// Anything else: a bug or a damaged database, answered 500 and logged.
        case other
    }

    public let kind: Kind
    /// The engine's own message (never bound values).
    public let message: String
    /// The statement's text, for error reports.
    public let sql: String?

    public init(_ kind: Kind, message: String, sql: String? = nil) {
        self.kind = kind
        self.message = message
        self.sql = sql
    }

    public var isConstraintViolation: Bool { kind == .uniqueViolation || kind == .constraintViolation }
    public var isUniqueViolation: Bool { kind == .uniqueViolation }

    public var description: String {
        sql.map { "\(message) (in: \($0))" } ?? message
    }
}

extension SQLError {
    /// SQLite's failure in store terms.
    init(_ error: SQLiteError) {
        let kind: Kind
        if error.isUniqueViolation {
            kind = .uniqueViolation
        } else if error.isConstraintViolation {
            kind = .constraintViolation
        } else if error.isBusy {
            kind = .busy
        } else if error.isFull {
            kind = .full
        } else {
            kind = .other
        }
        self.init(kind, message: error.message, sql: error.sql)
    }
}

extension SQLError {
    /// PostgreSQL's failure in store terms. A serialization failure or deadlock that reaches
    /// the store (the engine's retries were spent) is `busy`: nothing was written.
    init(_ error: PostgresError) {
        let kind: Kind
        if error.isUniqueViolation {
            kind = .uniqueViolation
        } else if error.isConstraintViolation {
            kind = .constraintViolation
        } else if error.isSerializationFailure || error.isTooManyConnections {
            kind = .busy
        } else if error.isConnectionLost {
            kind = .connectionLost
        } else if error.isDiskFull {
            kind = .full
        } else {
            kind = .other
        }
        self.init(kind, message: error.message, sql: error.sql)
    }
}
