/// Why `Store.copy(into:)` did not copy; in every case the target is left as it was.
public enum StoreCopyError: Error, Sendable, CustomStringConvertible {
    /// The source is not a SQLite store, or the target not a PostgreSQL one.
    case wrongEngines
    /// The target already holds data: the tables named have rows.
    case targetNotEmpty([String])
    /// The two schemas differ where the copy relies on them matching (or a table is new).
    case schemaMismatch(String)
    /// A statement failed (a constraint, a lost connection, a full disk): the transaction
    /// was rolled back.
    case failed(String)

    public var description: String {
        switch self {
        case .wrongEngines:
            return "copy-store copies a SQLite store into a PostgreSQL one"
        case .targetNotEmpty(let tables):
            return "the target database is not empty (rows in " + tables.joined(separator: ", ")
                + "); copy-store only copies into an empty database, and changed nothing"
        case .schemaMismatch(let detail):
            return "the schemas do not match: \(detail); nothing was copied"
        case .failed(let detail):
            return "the copy failed and was rolled back, the target is unchanged: \(detail)"
        }
    }
}

/// What a copy moved: rows per table in copy order, and where the events stand.
public struct StoreCopyReport: Sendable {
    public struct TableCount: Sendable {
        public let table: String
        public let rows: Int
    }

    public let tables: [TableCount]
    /// The last event id SQLite ever gave out (0: none); new events continue after it.
    public let lastEventID: Int64

    public var totalRows: Int { tables.reduce(0) { $0 + $1.rows } }
}

extension Store {
    /// Copies every row of this SQLite store into `target`, an empty PostgreSQL store (both
    /// already opened, so both are migrated to this binary's schema): `atrium copy-store`.
    ///
    /// Consistent while a server writes to the source: everything is read in one SQLite read
    /// snapshot, so writes committed after it starts are not copied. All or nothing: every
    /// row goes in one PostgreSQL transaction, which first checks the target is empty; any
    /// failure rolls it back. Ids are kept, each identity sequence is set past the largest id
    /// SQLite gave out, and events keep their ids (`outbox.seq = id`, `outbox_sequence` at
    /// SQLite's last outbox id), so `evt_…` ids, `after=` cursors and webhook cursors stay
    /// valid and new events continue after them. `schema_migrations` stays the target's own.
    public func copy(into target: Store) throws(StoreCopyError) -> StoreCopyReport {
        guard case .sqlite(let source) = engine, case .postgres(let destination, _) = target.engine else {
            throw .wrongEngines
        }
        do {
            return try destination.write { postgres in
                try source.read { sqlite in
                    try StoreCopyRun(source: .sqlite(sqlite), target: .postgres(postgres)).run()
                }
            }
        } catch let error as StoreCopyError {
            throw error
        } catch {
            throw .failed("\(error)")
        }
    }
}

/// One attempt of a copy, inside the SQLite snapshot and the PostgreSQL transaction.
private struct StoreCopyRun {
    let source: SQLConnection
    let target: SQLConnection

    func run() throws -> StoreCopyReport {
        try refuseNonEmptyTarget()
        let plan = try StoreCopyPlan.make(source: source, target: target)
        let copier = TableCopier(source: source, target: target)
        var counts: [StoreCopyReport.TableCount] = []
        for table in plan.tables {
            counts.append(.init(table: table.name, rows: try copier.copy(table)))
        }
        for (table, column) in StoreCopyPlan.deferred {
            try copier.fillDeferred(table: table, column: column)
        }
        for counter in StoreCopyPlan.counters {
            for row in try source.query("SELECT id, value FROM \(quoted(counter))") {
                try target.run("UPDATE \(quoted(counter)) SET value = ? WHERE id = ?", [row[1], row[0]])
            }
        }
        let issued = try lastIssuedIDs()
        for table in plan.tables where table.sourceColumns.contains("id") {
            try advanceIdentity(of: table.name, past: issued[table.name] ?? 0)
        }
        // Last: the sequencer of a server already on the target locks this row to number
        // events, so it is held for as short a time as possible.
        let lastEvent = max(issued["outbox"] ?? 0, try largestID(in: "outbox"))
        try target.run("UPDATE outbox_sequence SET value = ? WHERE id = 1", [.integer(lastEvent)])
        return StoreCopyReport(tables: counts, lastEventID: lastEvent)
    }

    /// Any row in a table the copy fills (the migrations' own counter rows aside) refuses.
    private func refuseNonEmptyTarget() throws {
        var occupied: [String] = []
        for table in StoreCopyPlan.order where !(try target.query("SELECT 1 FROM \(quoted(table)) LIMIT 1")).isEmpty {
            occupied.append(table)
        }
        let sequence = try target.query("SELECT value FROM outbox_sequence WHERE id = 1")
        if let value = sequence.first?.first, value != .integer(0) { occupied.append("outbox_sequence") }
        if !occupied.isEmpty { throw StoreCopyError.targetNotEmpty(occupied) }
    }

    /// SQLite's AUTOINCREMENT high-water marks: the largest id each table ever gave out,
    /// deleted rows included, so no id is handed out twice after the move.
    private func lastIssuedIDs() throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try source.query("SELECT name, seq FROM sqlite_sequence") {
            if case .text(let name) = row[0], case .integer(let seq) = row[1] { result[name] = seq }
        }
        return result
    }

    private func largestID(in table: String) throws -> Int64 {
        let rows = try target.query("SELECT COALESCE(MAX(id), 0) FROM \(quoted(table))")
        if case .integer(let id)? = rows.first?.first { return id }
        return 0
    }

    /// Moves `table`'s identity sequence (if it has one) so its next value is past both
    /// `issued` and the largest id copied.
    private func advanceIdentity(of table: String, past issued: Int64) throws {
        let sequence = try target.query("SELECT pg_get_serial_sequence(?, 'id')", [.text(quoted(table))])
        guard case .text(let name)? = sequence.first?.first else { return }
        let last = max(issued, try largestID(in: table))
        guard last > 0 else { return }
        try target.run("SELECT setval(CAST(? AS regclass), ?)", [.text(name), .integer(last)])
    }
}
