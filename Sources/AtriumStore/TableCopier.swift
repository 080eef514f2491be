/// Moves one table's rows from a SQLite snapshot to a PostgreSQL transaction, for
/// `Store.copy(into:)`: it streams the source rows and inserts them in multi-row INSERTs, so
/// a large table costs few round trips and is never held in memory whole.
struct TableCopier {
    /// Bound values per INSERT stay well under PostgreSQL's limit of 65,535 parameters.
    static let maxParameters = 30_000
    static let maxRowsPerInsert = 500
    /// An INSERT is sent once its text and blob values reach this size, so tables of large
    /// rows (records' data) go in statements of a few megabytes, well within `statement_timeout`.
    static let maxBytesPerInsert = 4 << 20

    let source: SQLConnection
    let target: SQLConnection

    /// Copies every row of `table` as it is (deferred columns as NULL, derived columns from
    /// their source column); returns how many.
    func copy(_ table: StoreCopyPlan.Table) throws(SQLError) -> Int {
        let targetColumns = table.targetColumns
        let batchRows = max(1, min(Self.maxRowsPerInsert, Self.maxParameters / targetColumns.count))
        let select = try source.prepare(
            "SELECT " + table.sourceColumns.map(quoted).joined(separator: ", ") + " FROM " + quoted(table.name))
        defer { select.reset() }
        var pending: [SQLValue] = []
        pending.reserveCapacity(batchRows * targetColumns.count)
        var rows = 0
        var bytes = 0
        var count = 0
        while try select.step() {
            var row: [SQLValue] = []
            for column in 0..<Int32(table.sourceColumns.count) {
                row.append(Int(column) == table.deferredIndex ? .null : select.value(column))
            }
            for derived in table.derivedColumns {
                row.append(select.value(Int32(derived.sourceIndex)))
            }
            pending += row
            rows += 1
            count += 1
            bytes += row.reduce(0) { $0 + $1.byteCount }
            if rows == batchRows || bytes >= Self.maxBytesPerInsert {
                try insert(table.name, targetColumns, rows: rows, values: pending)
                pending.removeAll(keepingCapacity: true)
                rows = 0
                bytes = 0
            }
        }
        if rows > 0 { try insert(table.name, targetColumns, rows: rows, values: pending) }
        return count
    }

    /// Sets `table.column` on the target from the source for every row where it is not NULL,
    /// matching rows by `id`: the second step of a deferred column.
    func fillDeferred(table: String, column: String) throws(SQLError) {
        let select = try source.prepare("SELECT id, \(quoted(column)) FROM \(quoted(table)) "
                                        + "WHERE \(quoted(column)) IS NOT NULL")
        defer { select.reset() }
        var pending: [SQLValue] = []
        var rows = 0
        let flush = { (rows: Int, values: [SQLValue]) throws(SQLError) in
            let pairs = Array(repeating: "(CAST(? AS BIGINT), CAST(? AS BIGINT))", count: rows).joined(separator: ", ")
            try target.run("UPDATE \(quoted(table)) SET \(quoted(column)) = v.value FROM (VALUES \(pairs)) "
                           + "AS v(id, value) WHERE \(quoted(table)).id = v.id", values)
        }
        while try select.step() {
            pending += [select.value(0), select.value(1)]
            rows += 1
            if rows == Self.maxRowsPerInsert {
                try flush(rows, pending)
                pending.removeAll(keepingCapacity: true)
                rows = 0
            }
        }
        if rows > 0 { try flush(rows, pending) }
    }

    private func insert(_ table: String, _ columns: [String], rows: Int, values: [SQLValue]) throws(SQLError) {
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let sql = "INSERT INTO \(quoted(table)) (" + columns.map(quoted).joined(separator: ", ") + ") VALUES "
            + Array(repeating: tuple, count: rows).joined(separator: ", ")
        try target.run(sql, values)
    }
}

/// An identifier in double quotes, valid on both engines (names come from the schemas and
/// `StoreCopyPlan`, never from input; quoting keeps `key`, `day`, `count` plain names).
func quoted(_ identifier: String) -> String {
    "\"" + identifier.replacing("\"", with: "\"\"") + "\""
}

extension SQLValue {
    /// Roughly how many bytes the value takes on the wire.
    var byteCount: Int {
        switch self {
        case .text(let text): return text.utf8.count
        case .blob(let bytes): return bytes.count
        case .integer, .real, .null: return 8
        }
    }
}
