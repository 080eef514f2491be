import Testing
@testable import AtriumPostgres

/// `?` → `$n` without a database: SQLite's numbering, and nothing rewritten inside literals,
/// quoted identifiers or comments.
@Suite("Placeholder rewrite")
struct PlaceholderRewriterTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let sql: String
        let expected: String
        let count: Int
        var testDescription: String { sql }
    }

    static let cases: [Case] = [
        Case(sql: "SELECT 1", expected: "SELECT 1", count: 0),
        Case(sql: "SELECT * FROM t WHERE a = ? AND b = ?", expected: "SELECT * FROM t WHERE a = $1 AND b = $2", count: 2),
        Case(sql: "INSERT INTO t VALUES (?,?,?)", expected: "INSERT INTO t VALUES ($1,$2,$3)", count: 3),
        Case(sql: "WHERE w = ?1 AND x > ?2 OR w = ?1", expected: "WHERE w = $1 AND x > $2 OR w = $1", count: 2),
        Case(sql: "WHERE a = ?2 AND b = ?", expected: "WHERE a = $2 AND b = $3", count: 3),
        Case(sql: "WHERE a = ? AND b = ?5 AND c = ?", expected: "WHERE a = $1 AND b = $5 AND c = $6", count: 6),
        Case(sql: "SELECT '?' , ?", expected: "SELECT '?' , $1", count: 1),
        Case(sql: "SELECT 'it''s ?', ?", expected: "SELECT 'it''s ?', $1", count: 1),
        Case(sql: "SELECT '', ?", expected: "SELECT '', $1", count: 1),
        Case(sql: "SELECT \"we?ird\"\"?\" FROM t WHERE x = ?", expected: "SELECT \"we?ird\"\"?\" FROM t WHERE x = $1",
             count: 1),
        Case(sql: "SELECT ? -- what?\n, ?", expected: "SELECT $1 -- what?\n, $2", count: 2),
        Case(sql: "SELECT ? /* a ? /* nested ? */ still ? */ , ?", expected: "SELECT $1 /* a ? /* nested ? */ still ? */ , $2",
             count: 2),
        Case(sql: "SELECT 5 - ?", expected: "SELECT 5 - $1", count: 1),
        Case(sql: "SELECT 10 / ?", expected: "SELECT 10 / $1", count: 1),
        Case(sql: "SELECT 'unterminated ?", expected: "SELECT 'unterminated ?", count: 0),
        Case(sql: "SELECT ?, 'é?', ?", expected: "SELECT $1, 'é?', $2", count: 2),
        Case(sql: "SELECT ?12", expected: "SELECT $12", count: 12),
    ]

    @Test(arguments: cases)
    func rewrites(_ testCase: Case) {
        let (sql, count) = PlaceholderRewriter.rewrite(testCase.sql)
        #expect(sql == testCase.expected)
        #expect(count == testCase.count)
    }
}

/// URL checks and error classification, no database needed.
@Suite("PostgreSQL URLs and errors")
struct URLAndErrorTests {
    @Test(arguments: [
        "postgres://localhost/atrium",
        "postgresql://user:pw@db.example:5433/atrium?sslmode=require",
        "postgresql:///atrium?host=/var/run/postgresql",
    ])
    func acceptsLibpqURIs(_ url: String) throws {
        try PostgresURL.validate(url)
    }

    @Test(arguments: ["", "mysql://localhost/x", "host=localhost dbname=x", "sqlite:///tmp/x.db", "Postgres://h/d"])
    func refusesOtherSchemes(_ url: String) {
        #expect(throws: PostgresError.self) { try PostgresURL.validate(url) }
    }

    @Test func aMalformedURINeverEchoesThePassword() {
        do {
            try PostgresURL.validate("postgresql://atrium:s3cr%zzet@localhost/db")
            Issue.record("accepted a malformed URI")
        } catch {
            #expect(!error.description.contains("s3cr"))
            #expect(error.message.contains("not a valid libpq URI"))
        }
    }

    @Test func classifiesSQLStates() {
        #expect(PostgresError(sqlState: "23505", message: "").isUniqueViolation)
        #expect(PostgresError(sqlState: "23503", message: "").isConstraintViolation)
        #expect(!PostgresError(sqlState: "23503", message: "").isUniqueViolation)
        #expect(PostgresError(sqlState: "40001", message: "").isSerializationFailure)
        #expect(PostgresError(sqlState: "40P01", message: "").isSerializationFailure)
        #expect(PostgresError(sqlState: "08006", message: "").isConnectionLost)
        #expect(PostgresError(sqlState: "57P01", message: "").isConnectionLost)
        #expect(!PostgresError(sqlState: "57014", message: "").isConnectionLost)
        #expect(PostgresError.connectionLost("gone").isConnectionLost)
        #expect(PostgresError(sqlState: "53100", message: "").isDiskFull)
        #expect(PostgresError(sqlState: "53300", message: "").isTooManyConnections)
    }
}
