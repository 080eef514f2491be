import Foundation
import Testing
@testable import AtriumPostgres
import AtriumSQLite
import AtriumStore

/// One engine's schema, reduced to what both engines must agree on.
struct SchemaShape: Equatable {
    struct Column: Hashable, CustomStringConvertible {
        let table, name, kind: String
        let notNull, hasDefault: Bool
        var description: String {
            "\(table).\(name) \(kind)\(notNull ? " NOT NULL" : "")\(hasDefault ? " DEFAULT" : "")"
        }
    }
    struct Index: Hashable, CustomStringConvertible {
        /// nil for the index behind a UNIQUE constraint (its name differs between engines).
        let table: String
        let name: String?
        let columns: String
        let unique, partial: Bool
        var description: String {
            "\(name ?? "UNIQUE constraint") ON \(table)(\(columns))\(unique ? " unique" : "")\(partial ? " partial" : "")"
        }
    }
    struct ForeignKey: Hashable, CustomStringConvertible {
        let table, columns, references, referencedColumns, onDelete: String
        var description: String { "\(table)(\(columns)) → \(references)(\(referencedColumns)) ON DELETE \(onDelete)" }
    }

    var tables: Set<String> = []
    var columns: Set<Column> = []
    var primaryKeys: Set<String> = []
    var indexes: Set<Index> = []
    var foreignKeys: Set<ForeignKey> = []
}

/// The intended differences, each with its reason; everything else must match.
enum IntendedDifferences {
    /// `sqlite_sequence` (SQLite's AUTOINCREMENT bookkeeping) is left out of the SQLite shape
    /// by name; PostgreSQL keeps identity sequences outside the tables.
    /// Events in commit order (migrations/postgres/0010): identity values commit out of order
    /// on PostgreSQL, so a sequencer numbers committed events; SQLite's single writer commits
    /// ids in order and needs none.
    static let postgresOnlyColumns: Set<String> = ["outbox.seq"]
    static let postgresOnlyTables: Set<String> = ["outbox_sequence"]
    static let postgresOnlyIndexes: Set<String> = ["outbox_by_seq", "outbox_unsequenced"]
    /// Same name and purpose, other columns: the per-workspace event scan goes by `seq` there.
    static let differingIndexes: Set<String> = ["outbox_by_workspace"]
}

private func text(_ value: PostgresValue) -> String {
    if case .text(let text) = value { return text }
    if case .integer(let int) = value { return String(int) }
    return ""
}

private func text(_ value: SQLiteValue) -> String {
    if case .text(let text) = value { return text }
    if case .integer(let int) = value { return String(int) }
    return ""
}

private func int(_ value: SQLiteValue) -> Int64 {
    if case .integer(let int) = value { return int }
    return 0
}

private func kind(sqlite type: String) -> String {
    switch type.uppercased() {
    case "INTEGER": return "integer"
    case "TEXT": return "text"
    case "BLOB": return "blob"
    case "REAL": return "real"
    default: return type
    }
}

private func kind(postgres type: String) -> String {
    switch type {
    case "bigint", "integer", "smallint": return "integer"
    case "text", "character varying": return "text"
    case "bytea": return "blob"
    case "double precision", "real": return "real"
    default: return type
    }
}

private let onDeleteNames = ["a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"]

func sqliteShape(_ database: SQLiteDatabase) throws -> SchemaShape {
    try database.read { connection in
        var shape = SchemaShape()
        let tables = try connection.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").map { text($0[0]) }
        shape.tables = Set(tables)
        for table in tables {
            var keys: [(Int64, String)] = []
            for row in try connection.query(
                "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info(?)", [.text(table)]) {
                let pk = int(row[4])
                if pk > 0 { keys.append((pk, text(row[0]))) }
                shape.columns.insert(.init(table: table, name: text(row[0]), kind: kind(sqlite: text(row[1])),
                                           notNull: int(row[2]) == 1 || pk > 0, hasDefault: int(row[3]) == 1))
            }
            shape.primaryKeys.insert(table + "(" + keys.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: ",") + ")")
            for row in try connection.query(
                "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)", [.text(table)]) {
                let origin = text(row[2])
                if origin == "pk" { continue }
                let columns = try connection.query(
                    "SELECT name FROM pragma_index_info(?) ORDER BY seqno", [row[0]]).map { text($0[0]) }
                shape.indexes.insert(.init(table: table, name: origin == "u" ? nil : text(row[0]),
                                           columns: columns.joined(separator: ","), unique: int(row[1]) == 1,
                                           partial: int(row[3]) == 1))
            }
            var keysByID: [Int64: (String, [String], [String], String)] = [:]
            for row in try connection.query(
                "SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq",
                [.text(table)]) {
                var entry = keysByID[int(row[0])] ?? (text(row[1]), [], [], text(row[4]))
                entry.1.append(text(row[2]))
                entry.2.append(text(row[3]))
                keysByID[int(row[0])] = entry
            }
            for (references, from, to, onDelete) in keysByID.values {
                shape.foreignKeys.insert(.init(table: table, columns: from.joined(separator: ","), references: references,
                                               referencedColumns: to.joined(separator: ","), onDelete: onDelete))
            }
        }
        return shape
    }
}

func postgresShape(_ connection: PostgresConnection) throws -> SchemaShape {
    var shape = SchemaShape()
    let columnsOf = { (relation: String, numbers: String) in
        """
        array_to_string(array(SELECT a.attname FROM unnest(\(numbers)) WITH ORDINALITY AS k(n, o)
            JOIN pg_attribute a ON a.attrelid = \(relation) AND a.attnum = k.n ORDER BY k.o), ',')
        """
    }
    shape.tables = Set(try connection.query(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'").map { text($0[0]) })
    for row in try connection.query(
        """
        SELECT table_name::text, column_name::text, data_type::text, is_nullable::text = 'NO', column_default IS NOT NULL
        FROM information_schema.columns WHERE table_schema = 'public'
        """) {
        shape.columns.insert(.init(table: text(row[0]), name: text(row[1]), kind: kind(postgres: text(row[2])),
                                   notNull: row[3] == .integer(1), hasDefault: row[4] == .integer(1)))
    }
    for row in try connection.query(
        """
        SELECT c.conrelid::regclass::text, \(columnsOf("c.conrelid", "c.conkey"))
        FROM pg_constraint c WHERE c.contype = 'p' AND c.connamespace = 'public'::regnamespace
        """) {
        shape.primaryKeys.insert(text(row[0]) + "(" + text(row[1]) + ")")
    }
    for row in try connection.query(
        """
        SELECT t.relname::text, i.relname::text, ix.indisunique, ix.indpred IS NOT NULL,
               \(columnsOf("t.oid", "ix.indkey::int2[]")),
               (SELECT c.contype::text FROM pg_constraint c
                WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u') AND c.conrelid = t.oid)
        FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
        WHERE t.relnamespace = 'public'::regnamespace
        """) {
        let constraint = text(row[5])
        if constraint == "p" { continue }
        shape.indexes.insert(.init(table: text(row[0]), name: constraint == "u" ? nil : text(row[1]),
                                   columns: text(row[4]), unique: row[2] == .integer(1), partial: row[3] == .integer(1)))
    }
    for row in try connection.query(
        """
        SELECT c.conrelid::regclass::text, \(columnsOf("c.conrelid", "c.conkey")), c.confrelid::regclass::text,
               \(columnsOf("c.confrelid", "c.confkey")), c.confdeltype::text
        FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
        """) {
        shape.foreignKeys.insert(.init(table: text(row[0]), columns: text(row[1]), references: text(row[2]),
                                       referencedColumns: text(row[3]), onDelete: onDeleteNames[text(row[4])] ?? "?"))
    }
    return shape
}

@Suite("Schema parity", .enabled(if: TestCluster.isConfigured, TestCluster.skipReason))
struct SchemaParityTests {
    /// Both engines' migrations give the same tables, columns (type class, nullability,
    /// defaults), primary keys, indexes and foreign keys, but for `IntendedDifferences`.
    /// CHECK constraints and column order are not compared.
    @Test func bothEnginesMigrateToTheSameSchema() throws {
        let directory = NSTemporaryDirectory() + "atrium-parity-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sqlite = try SQLiteDatabase(configuration: SQLiteConfiguration(path: directory + "/atrium.db"),
                                        migrations: EmbeddedMigrations.all)
        var expected = try sqliteShape(sqlite)
        sqlite.close()
        expected.indexes = expected.indexes.filter { !IntendedDifferences.differingIndexes.contains($0.name ?? "") }

        let fresh = try FreshDatabase()
        try fresh.open(migrations: EmbeddedPostgresMigrations.all) {
            $0.readerCount = 1
            $0.writerCount = 1
        }.close()
        var actual = try postgresShape(fresh.connect())
        actual.columns = actual.columns.filter { !IntendedDifferences.postgresOnlyColumns.contains("\($0.table).\($0.name)") }
        actual.indexes = actual.indexes.filter {
            !IntendedDifferences.postgresOnlyIndexes.union(IntendedDifferences.differingIndexes).contains($0.name ?? "")
        }
        actual.tables.subtract(IntendedDifferences.postgresOnlyTables)
        actual.columns = actual.columns.filter { !IntendedDifferences.postgresOnlyTables.contains($0.table) }
        actual.primaryKeys = actual.primaryKeys.filter { key in
            !IntendedDifferences.postgresOnlyTables.contains { key.hasPrefix($0 + "(") }
        }

        #expect(expected.tables.count >= 16)
        #expect(actual.tables == expected.tables)
        func compare<T: Hashable & CustomStringConvertible>(_ what: String, _ sqlite: Set<T>, _ postgres: Set<T>) {
            let missing = sqlite.subtracting(postgres).map(\.description).sorted()
            let extra = postgres.subtracting(sqlite).map(\.description).sorted()
            if !missing.isEmpty || !extra.isEmpty {
                let report: String = "\(what) differ.\nSQLite only:\n  " + missing.joined(separator: "\n  ")
                    + "\nPostgreSQL only:\n  " + extra.joined(separator: "\n  ")
                Issue.record(Comment(rawValue: report))
            }
        }
        compare("columns", expected.columns, actual.columns)
        compare("primary keys", expected.primaryKeys, actual.primaryKeys)
        compare("indexes", expected.indexes, actual.indexes)
        compare("foreign keys", expected.foreignKeys, actual.foreignKeys)
    }
}
