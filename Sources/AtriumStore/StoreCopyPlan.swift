/// What `Store.copy(into:)` copies, in which order, and the few columns it treats specially:
/// the one place to change when a migration adds a table (the copy refuses to run while a
/// table of the source is named nowhere here, so a new table cannot be silently left behind).
///
/// Columns are not listed: they are read from both schemas, which match column for column
/// (Tests/AtriumPostgresTests/SchemaParityTests.swift) except for the PostgreSQL-only
/// columns named in `derived`.
struct StoreCopyPlan: Sendable {
    /// Tables copied row by row, explicit ids and all, parents before children: PostgreSQL
    /// checks each foreign key as the row is inserted (its constraints are not deferrable).
    /// `make` checks this order against the source's foreign keys.
    static let order: [String] = [
        "users",                    // main_workspace_id is set afterwards (`deferred`)
        "workspaces",               // → users (owner_id)
        "members",                  // → workspaces, users
        "sessions",                 // → users
        "spent_refresh_tokens",     // → sessions
        "api_keys",                 // → users, workspaces
        "api_key_workspaces",       // → api_keys, workspaces
        "rate_limits",
        "records",                  // → workspaces
        "idempotency_keys",         // → workspaces
        "account_idempotency_keys", // → users
        "outbox",                   // seq = id (`derived`)
        "invitations",              // → workspaces
        "audit_log",
        "workspace_requests",
        "webhooks",                 // → workspaces; `cursor` is an event id, kept valid by seq = id
        "webhook_deliveries",       // → webhooks
    ]

    /// Columns inserted as NULL and set once every table is in: `users.main_workspace_id`
    /// references `workspaces`, whose `owner_id` references `users`, so neither table can
    /// go first with it.
    static let deferred: [String: String] = ["users": "main_workspace_id"]

    /// PostgreSQL-only columns and the source column whose value they take. `outbox.seq` is
    /// the event's position there (`evt_<seq>`, webhook cursors); on SQLite that is the id,
    /// so `seq = id` keeps every event id and cursor valid.
    static let derived: [String: [(column: String, from: String)]] = ["outbox": [("seq", "id")]]

    /// One-row counters the target's migrations create: their value is copied over it.
    static let counters: [String] = ["tenancy_epoch"]

    /// Tables not copied: each engine's own migration record (the target keeps its rows),
    /// and `cluster_leaders`, the running cluster's role epochs (migration 0011), which the
    /// target's instances start afresh. SQLite's `sqlite_sequence` is read for the identity
    /// sequences, and PostgreSQL's `outbox_sequence` is set from it; neither is copied as a
    /// table.
    static let notCopied: Set<String> = ["schema_migrations", "cluster_leaders", "rate_counters"]

    /// One table to copy: the columns read from SQLite, and the columns written on
    /// PostgreSQL (the same, then the derived ones).
    struct Table: Sendable {
        let name: String
        let sourceColumns: [String]
        /// For each derived column, its name and the index of its source column.
        let derivedColumns: [(name: String, sourceIndex: Int)]
        /// The index of the deferred column in `sourceColumns`, inserted as NULL.
        let deferredIndex: Int?

        var targetColumns: [String] { sourceColumns + derivedColumns.map(\.name) }
    }

    let tables: [Table]

    /// Reads both schemas and checks that this plan covers them: every source table is
    /// copied, a counter or not copied; every column of the source exists on the target;
    /// every target-only column is derived; parents come before their children.
    static func make(source: SQLConnection, target: SQLConnection) throws(StoreCopyError) -> StoreCopyPlan {
        do {
            let sourceTables = try source.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").compactMap(\.first)
                .compactMap(\.text)
            let known = Set(order).union(counters).union(notCopied)
            if let unknown = sourceTables.first(where: { !known.contains($0) }) {
                throw StoreCopyError.schemaMismatch("the source has a table '\(unknown)' that the copy plan "
                                                    + "(StoreCopyPlan.order) does not name; this binary cannot copy it")
            }
            var tables: [Table] = []
            for name in order {
                let sourceColumns = try source.query("SELECT name FROM pragma_table_info(?) ORDER BY cid",
                                                     [.text(name)]).compactMap { $0.first?.text }
                let targetColumns = try target.query(
                    "SELECT column_name::text FROM information_schema.columns "
                        + "WHERE table_schema = current_schema() AND table_name = ?",
                    [.text(name)]).compactMap { $0.first?.text }
                tables.append(try table(name, sourceColumns: sourceColumns, targetColumns: Set(targetColumns)))
            }
            try checkOrder(source)
            return StoreCopyPlan(tables: tables)
        } catch let error as StoreCopyError {
            throw error
        } catch {
            throw StoreCopyError.failed("reading the schemas failed: \(error)")
        }
    }

    private static func table(_ name: String, sourceColumns: [String],
                              targetColumns: Set<String>) throws(StoreCopyError) -> Table {
        guard !sourceColumns.isEmpty else {
            throw .schemaMismatch("the source has no table '\(name)'")
        }
        guard !targetColumns.isEmpty else {
            throw .schemaMismatch("the target has no table '\(name)'")
        }
        if let missing = sourceColumns.first(where: { !targetColumns.contains($0) }) {
            throw .schemaMismatch("the target's table '\(name)' has no column '\(missing)'")
        }
        var derivedColumns: [(name: String, sourceIndex: Int)] = []
        for (column, from) in derived[name] ?? [] {
            guard let index = sourceColumns.firstIndex(of: from) else {
                throw .schemaMismatch("the source's table '\(name)' has no column '\(from)'")
            }
            derivedColumns.append((column, index))
        }
        let covered = Set(sourceColumns).union(derivedColumns.map(\.name))
        if let extra = targetColumns.subtracting(covered).sorted().first {
            throw .schemaMismatch("the target's column '\(name).\(extra)' is not in the source and the copy plan "
                                  + "does not say how to fill it (StoreCopyPlan.derived)")
        }
        let deferredIndex = deferred[name].flatMap { sourceColumns.firstIndex(of: $0) }
        return Table(name: name, sourceColumns: sourceColumns, derivedColumns: derivedColumns,
                     deferredIndex: deferredIndex)
    }

    /// Each table's foreign keys (but the deferred column's) point at a table copied before it.
    private static func checkOrder(_ source: SQLConnection) throws {
        for (position, name) in order.enumerated() {
            let references = try source.query(
                "SELECT \"table\", \"from\" FROM pragma_foreign_key_list(?)", [.text(name)])
            for reference in references {
                guard let parent = reference.first?.text, let column = reference.last?.text else { continue }
                if deferred[name] == column { continue }
                guard let parentPosition = order.firstIndex(of: parent), parentPosition < position else {
                    throw StoreCopyError.schemaMismatch("the copy plan copies '\(name)' before '\(parent)', "
                                                        + "which its column '\(column)' references")
                }
            }
        }
    }
}

extension SQLValue {
    /// The text of a text value; nil for any other kind.
    var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }
}
