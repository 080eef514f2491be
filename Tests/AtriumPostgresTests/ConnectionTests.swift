import Foundation
import Testing
@testable import AtriumPostgres
import AtriumStore

@Suite("PostgreSQL connection", .enabled(if: TestCluster.isConfigured, TestCluster.skipReason))
struct ConnectionTests {
    @Test func everyValueTypeRoundTrips() throws {
        let database = try FreshDatabase()
        let connection = try database.connect()
        try connection.execute("CREATE TABLE t (k BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, s TEXT, b BYTEA)")
        let rows: [[PostgresValue]] = [
            [.integer(1), .integer(Int64.max), .real(0.1), .text("héllo ?' \"x\""), .blob([0, 1, 0xFF, 0x5C])],
            [.integer(2), .integer(Int64.min), .real(-1e-300), .text(""), .blob([])],
            [.integer(3), .null, .null, .null, .null],
            [.integer(4), .integer(0), .real(.infinity), .text("🙂"), .blob(Array(0...255))],
        ]
        for row in rows {
            try connection.run("INSERT INTO t (k, i, r, s, b) VALUES (?, ?, ?, ?, ?)", row)
        }
        #expect(try connection.query("SELECT k, i, r, s, b FROM t ORDER BY k") == rows)
        // The typed readers: an empty blob is not NULL, NULL reads as nil / 0.
        let statement = try connection.prepare("SELECT i, r, s, b FROM t WHERE k = ?")
        try statement.bind(Int64(2), at: 1)
        #expect(try statement.step())
        #expect(statement.int64(0) == Int64.min)
        #expect(statement.string(2) == "")
        #expect(statement.blob(3) == [])
        #expect(!statement.isNull(3))
        #expect(try !statement.step())
        statement.reset()
        try statement.bind(3, at: 1)
        #expect(try statement.step())
        #expect(statement.isNull(0) && statement.int64(0) == 0 && statement.double(1) == 0)
        #expect(statement.string(2) == nil && statement.blob(3) == nil)
        // The same SQL text comes back as the cached statement, reset.
        #expect(try connection.prepare("SELECT i, r, s, b FROM t WHERE k = ?") === statement)
        #expect(statement.columnCount == 4)
    }

    @Test func boolsAndNumericsReadAsNumbers() throws {
        let database = try FreshDatabase()
        let connection = try database.connect()
        let row = try connection.query(
            "SELECT true, false, 2.50::numeric, 3::numeric, 12.00::numeric, 7::int2, 8::int4, 1.5::float4, 'x'::varchar")
        #expect(row == [[.integer(1), .integer(0), .real(2.5), .integer(3), .integer(12), .integer(7), .integer(8),
                         .real(1.5), .text("x")]])
        let statement = try connection.prepare("SELECT true, 2.75::numeric, SUM(x) FROM (VALUES (1), (2)) AS v(x)")
        #expect(try statement.step())
        #expect(statement.int64(0) == 1 && statement.double(0) == 1)
        #expect(statement.int64(1) == 2 && statement.double(1) == 2.75)
        #expect(statement.int64(2) == 3 && statement.value(2) == .integer(3))
    }

    @Test func aDuplicateIsAUniqueViolationWithoutTheValue() throws {
        let database = try FreshDatabase()
        let connection = try database.connect()
        try connection.execute("CREATE TABLE u (email TEXT UNIQUE, n BIGINT)")
        try connection.run("INSERT INTO u VALUES (?, 1)", [.text("secret-value-123")])
        do {
            try connection.run("INSERT INTO u VALUES (?, 2)", [.text("secret-value-123")])
            Issue.record("the duplicate was accepted")
        } catch {
            #expect(error.isUniqueViolation && error.isConstraintViolation)
            #expect(!error.description.contains("secret-value-123"))
        }
        // A data exception names no input value either.
        do {
            try connection.run("INSERT INTO u VALUES ('a', ?)", [.text("hunter2-not-a-number")])
            Issue.record("text was accepted as a bigint")
        } catch {
            #expect(error.sqlState == "22P02")
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func changesCountsTheLastWrite() throws {
        let database = try FreshDatabase()
        let connection = try database.connect()
        try connection.execute("CREATE TABLE c (n BIGINT)")
        try connection.run("INSERT INTO c SELECT generate_series(1, 5)")
        #expect(connection.changes == 5)
        try connection.run("UPDATE c SET n = n + 10 WHERE n > ?", [.integer(3)])
        #expect(connection.changes == 2)
        _ = try connection.query("SELECT * FROM c")
        #expect(connection.changes == 2)
        #expect(try connection.query("DELETE FROM c WHERE n < ? RETURNING n", [.integer(3)]).count == 2)
        #expect(connection.changes == 2)
        try connection.run("DELETE FROM c WHERE n < 0")
        #expect(connection.changes == 0)
    }

    @Test func parameterCountsAndTextWithNULAreChecked() throws {
        let database = try FreshDatabase()
        let connection = try database.connect()
        let statement = try connection.prepare("SELECT ?::bigint + ?::bigint")
        #expect(throws: PostgresError.self) { try statement.bind([.integer(1)]) }
        #expect(throws: PostgresError.self) { try statement.bind(.integer(1), at: 3) }
        #expect(throws: PostgresError.self) { try statement.bind("a\u{0}b", at: 1) }
        try statement.bind([.integer(40), .integer(2)])
        #expect(try statement.step() && statement.int(0) == 42)
    }

    @Test func aReconnectDropsTheStatementCache() throws {
        let database = try FreshDatabase()
        let connection = try database.connect()
        let before = try connection.prepare("SELECT 1")
        try connection.reconnect()
        #expect(connection.isOpen)
        #expect(throws: PostgresError.self) { _ = try before.step() }
        let after = try connection.prepare("SELECT 1")
        #expect(after !== before)
        #expect(try after.step() && after.int64(0) == 1)
    }

    @Test func connectionFailuresNameTheTargetButNotThePassword() throws {
        let database = try FreshDatabase()
        let missing = FreshDatabase.url(database.url, database: "no_such_database_here")
        do {
            _ = try PostgresConnection(url: missing)
            Issue.record("connected to a missing database")
        } catch {
            #expect(error.isConnectionLost)
            #expect(error.message.contains("no_such_database_here"))
        }
        let withPassword = "postgresql://atrium:pa55word-xyz@127.0.0.1:1/atrium?connect_timeout=2"
        do {
            _ = try PostgresConnection(url: withPassword)
            Issue.record("connected to port 1")
        } catch {
            #expect(!error.description.contains("pa55word"))
            #expect(error.message.contains("127.0.0.1"))
        }
    }

    @Test func invitationTokenHashesMatchTheStoresHash() throws {
        let database = try FreshDatabase()
        let connection = try database.connect()
        for token in ["inv_abc", "tök-ü-🙂", ""] {
            let rows = try connection.query("SELECT sha256(convert_to(?, 'UTF8'))", [.text(token)])
            #expect(rows == [[.blob(InvitationToken.hash(token))]])
        }
    }
}
