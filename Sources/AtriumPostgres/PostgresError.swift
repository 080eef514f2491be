/// A PostgreSQL failure with its SQLSTATE.
///
/// It exists so callers can branch on *what* failed (a duplicate, a serialization failure, a
/// lost server) without parsing text, and so logs name the failing statement. It never holds
/// bound values: only the server's primary message (cut before a quoted input value for data
/// exceptions) and the SQL text are kept, never the DETAIL line, which repeats key values.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// The five-character SQLSTATE (`23505`, `40001`, …); nil for failures detected by libpq
    /// or on the Swift side (a dropped connection, a misuse).
    public let sqlState: String?
    public let message: String
    /// The SQL text of the failing statement, when there is one.
    public let sql: String?
    /// True when the connection was found broken (no result, or `PQstatus` is bad).
    let connectionBroken: Bool

    public init(sqlState: String?, message: String, sql: String? = nil) {
        self.init(sqlState: sqlState, message: message, sql: sql, connectionBroken: false)
    }

    init(sqlState: String?, message: String, sql: String?, connectionBroken: Bool) {
        self.sqlState = sqlState
        self.message = message
        self.sql = sql
        self.connectionBroken = connectionBroken
    }

    /// The SQLSTATE class: its first two characters.
    private var sqlStateClass: Substring? { sqlState.map { $0.prefix(2) } }

    /// A UNIQUE or PRIMARY KEY violation (23505), e.g. to answer 409.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// Any integrity constraint violation (class 23: unique, foreign key, check, not null).
    public var isConstraintViolation: Bool { sqlStateClass == "23" }

    /// A serialization failure (40001) or a detected deadlock (40P01): run the transaction again.
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// The server went away or the connection broke: connection exceptions (class 08), an
    /// administrator or crash shutdown (57P01, 57P02, 57P03), or a connection libpq found bad.
    public var isConnectionLost: Bool {
        if connectionBroken || sqlStateClass == "08" { return true }
        return sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03"
    }

    /// The server's disk is full (53100).
    public var isDiskFull: Bool { sqlState == "53100" }

    /// The server refuses more connections (53300).
    public var isTooManyConnections: Bool { sqlState == "53300" }

    public var description: String {
        var text = "PostgreSQL error"
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let sql { text += " [SQL: \(sql)]" }
        return text
    }
}

extension PostgresError {
    /// An API misuse caught on the Swift side (closed connection, wrong argument count, …).
    static func misuse(_ message: String, sql: String? = nil) -> PostgresError {
        PostgresError(sqlState: nil, message: message, sql: sql)
    }

    /// The connection is closed or broken, so the statement never reached the server.
    static func connectionLost(_ message: String, sql: String? = nil) -> PostgresError {
        PostgresError(sqlState: nil, message: message, sql: sql, connectionBroken: true)
    }
}
