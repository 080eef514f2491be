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
