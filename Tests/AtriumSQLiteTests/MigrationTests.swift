import Foundation
import Testing
@testable import AtriumSQLite

@Suite struct MigrationTests {
    let second = Migration(version: 2, name: "tags", sql: "CREATE TABLE tags(id INTEGER PRIMARY KEY, label TEXT);")

    @Test func migratesFreshDatabaseAndRecordsEachMigration() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory, migrations: [second, itemsMigration])
        defer { database.close() }
        let rows = try database.read { try $0.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version") }
        #expect(rows.count == 2)
        #expect(rows.map { $0[0] } == [.integer(1), .integer(2)])
        #expect(rows.map { $0[1] } == [.text("items"), .text("tags")])
        guard case .text(let appliedAt) = rows[0][2] else {
            Issue.record("applied_at is not text")
            return
        }
        #expect(appliedAt.count == 24 && appliedAt.hasSuffix("Z"))
        #expect(try count(database, "tags") == 0)
    }

    @Test func reopeningAppliesOnlyPendingMigrations() throws {
        let directory = TemporaryDirectory()
        let first = try openDatabase(directory)
        try first.write { try $0.run("INSERT INTO items(name) VALUES ('kept')") }
        let before = try first.read { try $0.query("SELECT version, applied_at FROM schema_migrations") }
        first.close()

        let again = try openDatabase(directory)
        #expect(try again.read { try $0.query("SELECT version, applied_at FROM schema_migrations") } == before)
        #expect(try count(again) == 1)
        again.close()

        let upgraded = try openDatabase(directory, migrations: [itemsMigration, second])
        defer { upgraded.close() }
        let versions = try upgraded.read { try $0.query("SELECT version FROM schema_migrations ORDER BY version") }
        #expect(versions == [[.integer(1)], [.integer(2)]])
        #expect(try count(upgraded) == 1)
    }

    @Test func failingMigrationLeavesNothingBehind() throws {
        let directory = TemporaryDirectory()
        let broken = Migration(
            version: 2, name: "broken",
            sql: "CREATE TABLE half(id INTEGER); INSERT INTO half VALUES (1); INSERT INTO missing VALUES (1);")
        #expect {
            _ = try openDatabase(directory, migrations: [itemsMigration, broken])
        } throws: { error in
            let error = error as? SQLiteError
            return error?.message.contains("migration 2 (broken)") == true && error?.message.contains("missing") == true
        }
        let database = try openDatabase(directory, migrations: [itemsMigration])
        defer { database.close() }
        let tables = try database.read { try $0.query("SELECT name FROM sqlite_master WHERE name = 'half'") }
        #expect(tables.isEmpty)
        #expect(try database.read { try $0.query("SELECT version FROM schema_migrations") } == [[.integer(1)]])
    }

    @Test func databaseFromNewerBinaryIsRefused() throws {
        let directory = TemporaryDirectory()
        try openDatabase(directory, migrations: [itemsMigration, second]).close()
        #expect {
            _ = try openDatabase(directory, migrations: [itemsMigration])
        } throws: { error in
            (error as? SQLiteError)?.message.contains("newer") == true
        }
    }

    @Test func duplicateMigrationVersionsAreRefused() throws {
        let directory = TemporaryDirectory()
        let clash = Migration(version: 1, name: "clash", sql: "CREATE TABLE clash(x);")
        #expect(throws: SQLiteError.self) {
            _ = try openDatabase(directory, migrations: [itemsMigration, clash])
        }
    }

    @Test func createsMissingParentDirectoriesAndAppliesPragmas() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory, name: "a/b/c/atrium.sqlite") { $0.synchronous = .full }
        defer { database.close() }
        #expect(FileManager.default.fileExists(atPath: directory.file("a/b/c/atrium.sqlite")))
        let pragmas = try database.write { connection in
            try ["journal_mode", "foreign_keys", "synchronous"].map {
                try connection.query("PRAGMA \($0)")[0][0]
            }
        }
        #expect(pragmas == [.text("wal"), .integer(1), .integer(2)])
        let readerPragmas = try database.read { connection in
            try ["journal_mode", "foreign_keys", "query_only"].map { try connection.query("PRAGMA \($0)")[0][0] }
        }
        #expect(readerPragmas == [.text("wal"), .integer(1), .integer(1)])
    }
}
