import Foundation
import Synchronization
import Testing
@testable import AtriumPostgres

@Suite("PostgreSQL database", .enabled(if: TestCluster.isConfigured, TestCluster.skipReason))
struct DatabaseTests {
    @Test func concurrentReadThenUpdateWritesRetryToAnExactCount() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open(migrations: [PostgresMigration(
            version: 1, name: "counter",
            sql: "CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO counter VALUES (1, 0);")]) {
            $0.writerCount = 8
            $0.maxRetries = 1000
        }
        defer { database.close() }
        let failures = Atomic<Int>(0)
        runOnThreads(16) { _ in
            for _ in 0..<25 {
                do {
                    try database.write { connection in
                        let n = try connection.query("SELECT n FROM counter WHERE id = 1")
                        guard case .integer(let value) = n.first?.first else { throw TestFailure(id: 1) }
                        try connection.run("UPDATE counter SET n = ? WHERE id = 1", [.integer(value + 1)])
                    }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(try scalar(database, "SELECT n FROM counter WHERE id = 1") == 400)
        let statistics = database.statistics
        #expect(statistics.commits == 400 && statistics.writes == 400 && statistics.failedWrites == 0)
        #expect(statistics.retries > 0, "no serialization failure in 400 racing read-then-update writes")
    }

    @Test func exhaustedRetriesFailWithTheSerializationFailure() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open { $0.maxRetries = 2 }
        defer { database.close() }
        // A body that always hits a deadlock-class error the way the server reports it.
        #expect {
            try database.write { connection in
                try connection.execute("DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '40001'; END $$")
            }
        } throws: { error in
            (error as? PostgresError)?.isSerializationFailure == true
        }
        #expect(database.statistics.retries == 2)
        #expect(database.statistics.failedWrites == 1)
    }

    @Test func aBodysErrorRollsBackAndComesBackUnchanged() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open()
        defer { database.close() }
        #expect(throws: TestFailure(id: 7)) {
            try database.write { connection in
                try connection.run("INSERT INTO items (name) VALUES ('ghost')")
                throw TestFailure(id: 7)
            }
        }
        #expect(throws: TestFailure(id: 8)) {
            try database.read { _ -> Int in throw TestFailure(id: 8) }
        }
        #expect(try scalar(database, "SELECT count(*) FROM items") == 0)
        // A failed statement the body swallowed still rolls the write back, with a clear error.
        #expect(throws: PostgresError.self) {
            try database.write { connection in
                try connection.run("INSERT INTO items (name) VALUES ('a')")
                try? connection.run("INSERT INTO items (name) VALUES ('a')")
            }
        }
        #expect(try scalar(database, "SELECT count(*) FROM items") == 0)
        try database.write { try $0.run("INSERT INTO items (name) VALUES ('b')") }
        #expect(try scalar(database, "SELECT count(*) FROM items") == 1)
    }

    @Test func deferredWritesCompleteAfterCommit() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open()
        defer { database.close() }
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<Int64, any Error>?>(nil)
        database.write({ connection -> Int64 in
            let rows = try connection.query("INSERT INTO items (name) VALUES ('later') RETURNING id")
            guard case .integer(let id) = rows.first?.first else { throw TestFailure(id: 2) }
            return id
        }, completion: { result in
            // Committed before the completion runs: another connection already sees the row.
            let visible = (try? scalar(database, "SELECT count(*) FROM items WHERE name = 'later'")) ?? 0
            outcome.withLock { $0 = visible == 1 ? result : .failure(TestFailure(id: 3)) }
            done.signal()
        })
        #expect(done.wait(timeout: .now() + 10) == .success)
        let id = try #require(outcome.withLock { $0 }).get()
        #expect(id >= 1)
        database.close()
        let refused = DispatchSemaphore(value: 0)
        database.write({ _ in 1 }, completion: { result in
            if case .failure = result { refused.signal() }
        })
        #expect(refused.wait(timeout: .now() + 5) == .success)
        #expect(throws: PostgresError.self) { try database.write { _ in 1 } }
    }

    @Test func commitObserversRunOnlyAfterAskingCommits() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open()
        defer { database.close() }
        let calls = Atomic<Int>(0)
        database.addCommitObserver { calls.add(1, ordering: .relaxed) }
        database.addCommitObserver { calls.add(10, ordering: .relaxed) }
        try database.write { try $0.run("INSERT INTO items (name) VALUES ('quiet')") }
        #expect(calls.load(ordering: .relaxed) == 0)
        try database.write { connection in
            connection.requestCommitNotification()
            try connection.run("INSERT INTO items (name) VALUES ('loud')")
        }
        #expect(calls.load(ordering: .relaxed) == 11)
        #expect(throws: TestFailure(id: 4)) {
            try database.write { connection in
                connection.requestCommitNotification()
                throw TestFailure(id: 4)
            }
        }
        #expect(calls.load(ordering: .relaxed) == 11)
    }

    @Test func aTerminatedBackendFailsOneWriteAndReconnects() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open {
            $0.writerCount = 1
            $0.readerCount = 1
        }
        defer { database.close() }
        let admin = try fresh.connect()
        for round in 0..<3 {
            let writer = try database.write { try $0.query("SELECT pg_backend_pid()") }
            let reader = try database.read { try $0.query("SELECT pg_backend_pid()") }
            for pid in [writer, reader] {
                _ = try admin.query("SELECT pg_terminate_backend(?::int)", pid.first ?? [])
            }
            do {
                try database.write { try $0.run("INSERT INTO items (name) VALUES (?)", [.text("r\(round)")]) }
            } catch {
                #expect((error as? PostgresError)?.isConnectionLost == true, "\(error)")
            }
            do {
                _ = try database.read { try $0.query("SELECT 1") }
            } catch {
                #expect((error as? PostgresError)?.isConnectionLost == true, "\(error)")
            }
            try database.write { try $0.run("INSERT INTO items (name) VALUES (?)", [.text("after\(round)")]) }
            #expect(try scalar(database, "SELECT count(*) FROM items WHERE name = 'after\(round)'") == 1)
        }
        #expect(database.isHealthy)
    }

    @Test func readsSeeOneSnapshotAndCannotWrite() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open()
        defer { database.close() }
        #expect(throws: PostgresError.self) {
            try database.read { try $0.run("INSERT INTO items (name) VALUES ('no')") }
        }
        let counts = try database.read { connection -> [Int64] in
            let first = try connection.query("SELECT count(*) FROM items")
            try database.write { try $0.run("INSERT INTO items (name) VALUES ('meanwhile')") }
            let second = try connection.query("SELECT count(*) FROM items")
            return [first, second].map { if case .integer(let n) = $0.first?.first { n } else { -1 } }
        }
        #expect(counts == [0, 0])
        #expect(try scalar(database, "SELECT count(*) FROM items") == 1)
        #expect(database.statistics.reads >= 3)
        #expect(database.pendingWriteCount == 0)
    }

    @Test func aNestedWriteIsRefusedInsteadOfDeadlocking() throws {
        let fresh = try FreshDatabase()
        let database = try fresh.open { $0.writerCount = 1 }
        defer { database.close() }
        #expect(throws: PostgresError.self) {
            try database.write { _ in try database.write { _ in 1 } }
        }
    }
}
