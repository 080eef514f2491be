import AtriumPostgres
import AtriumSQLite

/// A prepared statement of whichever engine the store runs on, with one API: the store's
/// queries are written once against it (statements in SQLite's `?` syntax; the PostgreSQL
/// engine rewrites placeholders when it prepares).
///
/// An enum over the engines' own statement classes rather than a protocol, so a hot query
/// costs a switch, not an existential box. Confined to its connection's thread. Column
/// indices are 0-based, parameter indices 1-based.
public enum SQLStatement {
    case sqlite(SQLiteStatement)
    case postgres(PostgresStatement)

    // MARK: Binding

    public func bind(_ value: Int64, at index: Int32) throws(SQLError) {
        switch self {
        case .sqlite(let s): try translating { () throws(SQLiteError) in try s.bind(value, at: index) }
        case .postgres(let s): try translating { () throws(PostgresError) in try s.bind(value, at: index) }
        }
    }

    public func bind(_ value: Int, at index: Int32) throws(SQLError) {
        try bind(Int64(value), at: index)
    }

    public func bind(_ value: Double, at index: Int32) throws(SQLError) {
        switch self {
        case .sqlite(let s): try translating { () throws(SQLiteError) in try s.bind(value, at: index) }
        case .postgres(let s): try translating { () throws(PostgresError) in try s.bind(value, at: index) }
        }
    }

    public func bind(_ value: String, at index: Int32) throws(SQLError) {
        switch self {
        case .sqlite(let s): try translating { () throws(SQLiteError) in try s.bind(value, at: index) }
        case .postgres(let s): try translating { () throws(PostgresError) in try s.bind(value, at: index) }
        }
    }

    /// Binds a blob; an empty array is an empty blob, not NULL.
    public func bind(_ value: [UInt8], at index: Int32) throws(SQLError) {
        switch self {
        case .sqlite(let s): try translating { () throws(SQLiteError) in try s.bind(value, at: index) }
        case .postgres(let s): try translating { () throws(PostgresError) in try s.bind(value, at: index) }
        }
    }

    public func bindNull(at index: Int32) throws(SQLError) {
        switch self {
        case .sqlite(let s): try translating { () throws(SQLiteError) in try s.bindNull(at: index) }
        case .postgres(let s): try translating { () throws(PostgresError) in try s.bindNull(at: index) }
        }
    }

    public func bind(_ value: SQLValue, at index: Int32) throws(SQLError) {
        switch value {
        case .integer(let int): try bind(int, at: index)
        case .real(let double): try bind(double, at: index)
        case .text(let text): try bind(text, at: index)
        case .blob(let bytes): try bind(bytes, at: index)
        case .null: try bindNull(at: index)
        }
    }

    /// Binds `values` to parameters 1…n.
    public func bind(_ values: [SQLValue]) throws(SQLError) {
        switch self {
        case .sqlite(let s): try translating { () throws(SQLiteError) in try s.bind(values.map(\.sqlite)) }
        case .postgres(let s): try translating { () throws(PostgresError) in try s.bind(values.map(\.postgres)) }
        }
    }

    // MARK: Stepping

    /// Advances to the next row; false once there is none (a statement without rows runs
    /// on its first step).
    public func step() throws(SQLError) -> Bool {
        switch self {
        case .sqlite(let s): return try translating { () throws(SQLiteError) in try s.step() }
        case .postgres(let s): return try translating { () throws(PostgresError) in try s.step() }
        }
    }

    /// Ends the current use: the statement can be bound and stepped again.
    public func reset() {
        switch self {
        case .sqlite(let s): s.reset()
        case .postgres(let s): s.reset()
        }
    }

    /// Steps to the end, ignoring rows.
    public func runToCompletion() throws(SQLError) {
        while try step() {}
    }

    // MARK: Columns

    public var columnCount: Int32 {
        switch self {
        case .sqlite(let s): return s.columnCount
        case .postgres(let s): return s.columnCount
        }
    }

    public func int64(_ column: Int32) -> Int64 {
        switch self {
        case .sqlite(let s): return s.int64(column)
        case .postgres(let s): return s.int64(column)
        }
    }

    public func int(_ column: Int32) -> Int {
        Int(int64(column))
    }

    public func double(_ column: Int32) -> Double {
        switch self {
        case .sqlite(let s): return s.double(column)
        case .postgres(let s): return s.double(column)
        }
    }

    public func string(_ column: Int32) -> String? {
        switch self {
        case .sqlite(let s): return s.string(column)
        case .postgres(let s): return s.string(column)
        }
    }

    public func blob(_ column: Int32) -> [UInt8]? {
        switch self {
        case .sqlite(let s): return s.blob(column)
        case .postgres(let s): return s.blob(column)
        }
    }

    public func isNull(_ column: Int32) -> Bool {
        switch self {
        case .sqlite(let s): return s.isNull(column)
        case .postgres(let s): return s.isNull(column)
        }
    }

    public func value(_ column: Int32) -> SQLValue {
        switch self {
        case .sqlite(let s): return SQLValue(s.value(column))
        case .postgres(let s): return SQLValue(s.value(column))
        }
    }
}

/// Runs a SQLite call, its failure as a `SQLError`.
@inline(__always)
func translating<T>(_ body: () throws(SQLiteError) -> T) throws(SQLError) -> T {
    do {
        return try body()
    } catch {
        throw SQLError(error)
    }
}

/// Runs a PostgreSQL call, its failure as a `SQLError`.
@inline(__always)
func translating<T>(_ body: () throws(PostgresError) -> T) throws(SQLError) -> T {
    do {
        return try body()
    } catch {
        throw SQLError(error)
    }
}
