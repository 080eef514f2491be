import Foundation
import Testing
@testable import AtriumPostgres

/// Transaction control without round trips of its own: `BEGIN` sent with a body's first
/// statement, a read's `COMMIT`/`ROLLBACK` sent without waiting. What must not change: one
/// snapshot per read taken at its first statement, nothing held open between reads, every
/// failure leaving the connection usable.
@Suite("PostgreSQL pipelined transaction control", .enabled(if: TestCluster.isConfigured, TestCluster.skipReason))
struct PipelineTests {
    @Test func aReadsTransactionEndsOnTheServerWithoutBeingWaitedFor() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open { $0.readerCount = 1 }
        defer { database.close() }
        let admin = try fresh.connect()
        for _ in 0..<3 {
            let pid = try database.read { connection -> Int64 in
                let rows = try connection.query("SELECT pg_backend_pid()")
                guard case .integer(let pid)? = rows.first?.first else { throw TestFailure(id: 1) }
                return pid
            }
            // The COMMIT's answer is unread, but the server has ended the transaction: no
            // snapshot (backend_xmin) is held and the backend is idle, not idle in transaction.
            var state: [[PostgresValue]] = []
            for _ in 0..<200 {
                state = try admin.query(
                    "SELECT state, backend_xmin IS NULL FROM pg_stat_activity WHERE pid = ?::int", [.integer(pid)])
                if state == [[.text("idle"), .integer(1)]] { break }
                usleep(10_000)
            }
            #expect(state == [[.text("idle"), .integer(1)]])
        }
    }

    @Test func aReadsSnapshotIsTakenAtItsFirstStatementAndKeptToItsEnd() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open { $0.readerCount = 1 }
        defer { database.close() }
        let counts = try database.read { connection -> [Int64] in
            try database.write { try $0.run("INSERT INTO items (name) VALUES ('before the first statement')") }
            let first = try connection.query("SELECT count(*) FROM items")
            try database.write { try $0.run("INSERT INTO items (name) VALUES ('after it')") }
            let second = try connection.query("SELECT count(*) FROM items")
            return [first, second].map { if case .integer(let n) = $0.first?.first { n } else { -1 } }
        }
        #expect(counts == [1, 1])
        // The next read (whose BEGIN travels with the previous COMMIT's unread answer) sees both.
        #expect(try scalar(database, "SELECT count(*) FROM items") == 2)
        let isolation = try database.read { try $0.query("SELECT current_setting('transaction_isolation')") }
        #expect(isolation == [[.text("repeatable read")]])
        let readOnly = try database.read { try $0.query("SELECT current_setting('transaction_read_only')") }
        #expect(readOnly == [[.text("on")]])
    }

    @Test func readsThatFailOrRunNothingLeaveTheReaderUsable() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open { $0.readerCount = 1 }
        defer { database.close() }
        #expect(try database.read { _ in 5 } == 5)
        #expect(throws: TestFailure(id: 2)) {
            try database.read { connection in
                _ = try connection.query("SELECT 1")
                throw TestFailure(id: 2)
            }
        }
        #expect(throws: PostgresError.self) {
            try database.read { try $0.query("SELECT 1 / 0") }
        }
        // A failed statement caught inside the body: the rest of the transaction is refused.
        let afterFailure = try database.read { connection -> Bool in
            _ = try? connection.query("SELECT 1 / 0")
            do {
                _ = try connection.query("SELECT 1")
                return false
            } catch {
                return (error as? PostgresError)?.sqlState == "25P02"
            }
        }
        #expect(afterFailure)
        #expect(try database.read { _ in 6 } == 6)
        // A statement prepared for the first time after a read ended without waiting.
        #expect(try scalar(database, "SELECT 40 + 2") == 42)
        try database.write { try $0.run("INSERT INTO items (name) VALUES ('x')") }
        #expect(try scalar(database, "SELECT count(*) FROM items") == 1)
        #expect(database.isHealthy)
    }

    @Test func writesOpenTheirSerializableTransactionWithTheFirstStatement() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open { $0.writerCount = 1 }
        defer { database.close() }
        #expect(try database.write { _ in 3 } == 3)
        let isolation = try database.write { try $0.query("SELECT current_setting('transaction_isolation')") }
        #expect(isolation == [[.text("serializable")]])
        // Simple-protocol statements (ahead of which the BEGIN goes) run in the transaction too.
        try database.write { connection in
            try connection.execute("INSERT INTO items (name) VALUES ('simple')")
            try connection.run("INSERT INTO items (name) VALUES ('prepared')")
        }
        #expect(throws: PostgresError.self) {
            try database.write { connection in
                try connection.run("INSERT INTO items (name) VALUES ('lost')")
                try connection.execute("INSERT INTO items (name) VALUES ('simple')")  // a duplicate
            }
        }
        // A failing first statement rolls the whole write back; the writer goes on.
        #expect {
            try database.write { connection in
                try connection.run("INSERT INTO items (name) VALUES ('prepared')")
            }
        } throws: { error in
            (error as? PostgresError)?.isUniqueViolation == true
        }
        try database.write { try $0.run("INSERT INTO items (name) VALUES ('last')") }
        #expect(try scalar(database, "SELECT count(*) FROM items") == 3)
        #expect(try scalar(database, "SELECT count(*) FROM items WHERE name = 'lost'") == 0)
    }
}
