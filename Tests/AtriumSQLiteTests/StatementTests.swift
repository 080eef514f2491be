import Testing
@testable import AtriumSQLite

/// Statement-level tests on one raw writer connection, confined to the test's thread.
@Suite struct StatementTests {
    let directory = TemporaryDirectory()
    let connection: SQLiteConnection

    init() throws {
        connection = try SQLiteConnection.open(SQLiteConfiguration(path: directory.file("s.sqlite")), role: .writer)
        try connection.execute("CREATE TABLE t(v); CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT UNIQUE, secret TEXT);")
    }

    @Test func cacheReturnsTheSameStatementResetWithBindingsCleared() throws {
        let first = try connection.prepare("SELECT ?1, ?2")
        try first.bind(Int64(7), at: 1)
        try first.bind("x", at: 2)
        #expect(try first.step())
        #expect(first.int64(0) == 7)
        let second = try connection.prepare("SELECT ?1, ?2")
        #expect(first === second)
        #expect(try second.step())
        #expect(second.isNull(0) && second.isNull(1))
        #expect(try connection.prepare("SELECT ?1, ?2 ") !== first)
    }

    static let values: [SQLiteValue] = [
        .integer(0), .integer(Int64.min), .integer(Int64.max), .real(3.25), .real(-0.5e300),
        .text(""), .text("héllo ✓ 🎉"), .text("nul\u{0}inside"), .blob([]), .blob([0, 1, 2, 255, 0]), .null,
    ]

    @Test(arguments: values)
    func valueRoundTrips(_ value: SQLiteValue) throws {
        try connection.run("INSERT INTO t(v) VALUES (?)", [value])
        let rows = try connection.query("SELECT v, typeof(v) FROM t WHERE rowid = ?", [.integer(connection.lastInsertRowID)])
        #expect(rows.count == 1)
        #expect(rows.first?.first == value)
    }

    @Test func typedBindsAndColumnsRoundTrip() throws {
        let insert = try connection.prepare("INSERT INTO t(v) VALUES (?)")
        try insert.bind(Int64(42), at: 1)
        #expect(try insert.step() == false)
        #expect(connection.changes == 1)
        let integerRow = connection.lastInsertRowID
        for bind in [{ try insert.bind("text", at: 1) }, { try insert.bind([9, 8], at: 1) }, { try insert.bindNull(at: 1) },
                     { try insert.bind(1.5, at: 1) }, { try insert.bindText(Array("bytes".utf8), at: 1) }] as [() throws -> Void] {
            insert.reset()
            try bind()
            _ = try insert.step()
        }
        let select = try connection.prepare("SELECT v FROM t WHERE rowid >= ? ORDER BY rowid")
        try select.bind(integerRow, at: 1)
        #expect(try select.step())
        #expect(select.int64(0) == 42 && select.columnCount == 1)
        #expect(try select.step())
        #expect(select.string(0) == "text" && select.blob(0) == Array("text".utf8))
        #expect(try select.step())
        #expect(select.blob(0) == [9, 8])
        #expect(try select.step())
        #expect(select.isNull(0) && select.string(0) == nil && select.blob(0) == nil)
        #expect(try select.step())
        #expect(select.double(0) == 1.5)
        #expect(try select.step())
        #expect(select.value(0) == .text("bytes"))
        #expect(try select.step() == false)
    }

    @Test func withTextLendsSQLiteBytesWithoutCopying() throws {
        let json = "{\"k\":\"" + String(repeating: "é", count: 100_000) + "\"}"
        try connection.run("INSERT INTO t(v) VALUES (?)", [.text(json)])
        let select = try connection.prepare("SELECT v FROM t WHERE rowid = ?")
        try select.bind(connection.lastInsertRowID, at: 1)
        #expect(try select.step())
        // Nested loans of the same column share one address: no per-call copy exists.
        let (sameAddress, bytes) = select.withText(0) { outer in
            select.withText(0) { inner in
                (outer.baseAddress == inner.baseAddress, Array(outer))
            }
        }
        #expect(sameAddress)
        #expect(bytes == Array(json.utf8))
        let empty = try connection.prepare("SELECT NULL")
        #expect(try empty.step())
        #expect(empty.withText(0) { $0.count } == 0)
    }

    @Test func argumentCountMismatchIsAnError() throws {
        #expect(throws: SQLiteError.self) {
            try connection.run("INSERT INTO t(v) VALUES (?)", [])
        }
        #expect(throws: SQLiteError.self) {
            try connection.run("INSERT INTO t(v) VALUES (?)", [.null, .null])
        }
    }

    @Test func prepareRefusesSeveralStatementsButExecuteRunsThem() throws {
        #expect(throws: SQLiteError.self) {
            _ = try connection.prepare("SELECT 1; SELECT 2")
        }
        _ = try connection.prepare("SELECT 1; -- a trailing comment")
        try connection.execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
        #expect(try connection.query("SELECT count(*) FROM t") == [[.integer(2)]])
    }

    @Test func constraintErrorsCarryExtendedCodesButNeverArguments() throws {
        try connection.run("INSERT INTO u(name, secret) VALUES (?, ?)", [.text("alice"), .text("s3cr3t-one")])
        do {
            try connection.run("INSERT INTO u(name, secret) VALUES (?, ?)", [.text("alice"), .text("hunter2-secret")])
            Issue.record("duplicate insert succeeded")
        } catch {
            #expect(error.code == 2067)
            #expect(error.primaryCode == 19)
            #expect(error.isConstraintViolation && error.isUniqueViolation && !error.isBusy)
            #expect(error.sql == "INSERT INTO u(name, secret) VALUES (?, ?)")
            #expect(!error.description.contains("hunter2"))
            #expect(!error.description.contains("alice"))
            #expect(error.description.contains("UNIQUE"))
        }
        #expect(throws: SQLiteError.self) {
            _ = try connection.prepare("SELEKT 1")
        }
    }
}
