/// The SQL dialect of the engine a connection belongs to, and the few fragments of SQL that
/// differ between them. Statements are written once, in the syntax both engines share
/// (SQLite's `?` placeholders, which the PostgreSQL engine rewrites); where the engines
/// disagree a statement asks its dialect for the fragment instead of being written twice.
public enum SQLDialect: Sendable, Equatable {
    case sqlite
    case postgres

    /// An index the planner must use: SQLite sometimes picks a worse one for these queries;
    /// PostgreSQL has no hints and plans them on the right index by itself.
    func indexHint(_ index: String) -> String {
        switch self {
        case .sqlite: return " INDEXED BY \(index)"
        case .postgres: return ""
        }
    }

    /// Locks the rows a read-then-write selects until the transaction ends. SQLite's single
    /// writer needs none; on PostgreSQL a concurrent transaction that wants the same row
    /// waits, then fails with a serialization failure and runs again, seeing the change.
    var forUpdate: String {
        switch self {
        case .sqlite: return ""
        case .postgres: return " FOR UPDATE"
        }
    }

    /// The length in bytes of a text expression.
    func byteLength(_ expression: String) -> String {
        switch self {
        case .sqlite: return "length(CAST(\(expression) AS BLOB))"
        case .postgres: return "octet_length(\(expression))"
        }
    }

    /// A subquery of the integers in a JSON array bound to `parameter` (`?1`…).
    func integers(inJSONArray parameter: String) -> String {
        switch self {
        case .sqlite: return "SELECT value FROM json_each(\(parameter))"
        case .postgres: return "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(\(parameter) AS JSON))"
        }
    }

    /// A subquery of the strings in a JSON array bound to `parameter`.
    func strings(inJSONArray parameter: String) -> String {
        switch self {
        case .sqlite: return "SELECT value FROM json_each(\(parameter))"
        case .postgres: return "SELECT value FROM json_array_elements_text(CAST(\(parameter) AS JSON))"
        }
    }

    /// True when the top-level field named by `field` (a parameter holding the name) of the
    /// JSON text column `column` equals the filter text in `value` (a parameter): a string
    /// field compares its text, a number, boolean or null its JSON form (`5`, `true`, `null`);
    /// objects and arrays never match (api.md §6, record filters).
    func jsonField(_ column: String, named field: String, equals value: String) -> String {
        switch self {
        case .sqlite:
            let path = "('$.\"' || \(field) || '\"')"
            return "((json_type(\(column), \(path)) = 'text' AND \(column) ->> \(path) = \(value))"
                + " OR (json_type(\(column), \(path)) IN ('integer', 'real', 'true', 'false', 'null')"
                + " AND \(column) -> \(path) = \(value)))"
        case .postgres:
            let element = "(CAST(\(column) AS JSONB) -> CAST(\(field) AS TEXT))"
            return "((jsonb_typeof(\(element)) = 'string' AND \(element) #>> '{}' = \(value))"
                + " OR (jsonb_typeof(\(element)) IN ('number', 'boolean', 'null')"
                + " AND CAST(\(element) AS TEXT) = \(value)))"
        }
    }
}

extension SQLDialect {
    /// The outbox column that orders events and names them (`evt_<key>`).
    ///
    /// On SQLite one writer commits in id order, so the row id is the order. On PostgreSQL
    /// transactions commit out of id order, so a reader moving past an id could skip an event
    /// whose transaction commits late; there the store's sequencer gives committed events a
    /// `seq` in the order it finds them committed (`OutboxSequencer`), and everything that
    /// reads the outbox in order reads `seq` — a row without one yet is invisible to them.
    var eventKey: String {
        switch self {
        case .sqlite: return "id"
        case .postgres: return "seq"
        }
    }

    /// A scalar subquery of the newest event key ever given out (NULL before the first),
    /// even when that event has been purged since.
    var lastEventKey: String {
        switch self {
        case .sqlite: return "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"
        case .postgres: return "SELECT NULLIF(value, 0) FROM outbox_sequence WHERE id = 1"
        }
    }
}
