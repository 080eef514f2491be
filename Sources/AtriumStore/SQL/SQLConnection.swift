import AtriumPostgres
import AtriumSQLite

/// A connection of whichever engine the store runs on, lent to one `read` or `write` scope:
/// what `StoreReader` and `StoreWriter` run their statements on. Like the engines' own
/// connections it is confined to one thread at a time, and a scope must not keep it.
public enum SQLConnection {
    case sqlite(SQLiteConnection)
    case postgres(PostgresConnection)

    /// The SQL dialect this connection speaks, for the few statements that differ.
    public var dialect: SQLDialect {
        switch self {
        case .sqlite: return .sqlite
        case .postgres: return .postgres
        }
    }

    /// The statement for `sql` (in SQLite's `?` syntax), compiled once per connection and
    /// then reused; it comes back reset with its bindings cleared.
    public func prepare(_ sql: String) throws(SQLError) -> SQLStatement {
        switch self {
        case .sqlite(let c): return .sqlite(try translating { () throws(SQLiteError) in try c.prepare(sql) })
        case .postgres(let c): return .postgres(try translating { () throws(PostgresError) in try c.prepare(sql) })
        }
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLError) {
        switch self {
        case .sqlite(let c): try translating { () throws(SQLiteError) in try c.execute(sql) }
        case .postgres(let c): try translating { () throws(PostgresError) in try c.execute(sql) }
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    public var changes: Int {
        switch self {
        case .sqlite(let c): return c.changes
        case .postgres(let c): return c.changes
        }
    }

    /// Asks for the store's commit observers to run once this write's transaction commits.
    public func requestCommitNotification() {
        switch self {
        case .sqlite(let c): c.requestCommitNotification()
        case .postgres(let c): c.requestCommitNotification()
        }
    }

    /// Runs a query and collects every row: a convenience for cold paths.
    public func query(_ sql: String, _ arguments: [SQLValue] = []) throws(SQLError) -> [[SQLValue]] {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        var rows: [[SQLValue]] = []
        let columns = statement.columnCount
        while try statement.step() {
            var row: [SQLValue] = []
            row.reserveCapacity(Int(columns))
            for column in 0..<columns {
                row.append(statement.value(column))
            }
            rows.append(row)
        }
        return rows
    }

    /// Binds `arguments` and steps to the end, ignoring rows: a convenience for cold paths.
    public func run(_ sql: String, _ arguments: [SQLValue] = []) throws(SQLError) {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        try statement.runToCompletion()
    }

    /// Runs an `INSERT … RETURNING id` (written here, not by callers) and returns the new
    /// row's id: the portable form of SQLite's last-insert rowid.
    public func insert(_ sql: String, _ arguments: [SQLValue]) throws(SQLError) -> Int64 {
        let statement = try prepare(sql + " RETURNING id")
        defer { statement.reset() }
        try statement.bind(arguments)
        guard try statement.step() else {
            throw SQLError(.other, message: "INSERT … RETURNING id returned no row", sql: sql)
        }
        let id = statement.int64(0)
        try statement.runToCompletion()
        return id
    }
}
