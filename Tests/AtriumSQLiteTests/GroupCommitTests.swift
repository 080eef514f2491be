import Foundation
import Synchronization
import Testing
@testable import AtriumSQLite

@Suite struct GroupCommitTests {
    @Test func concurrentWritersAreAllCommittedInFewerTransactions() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory) { $0.synchronous = .full }
        defer { database.close() }
        let failures = Atomic<Int>(0)
        try withGate(database, queued: 200) {
            runOnThreads(200) { index in
                do {
                    let id = try database.write { connection in
                        try connection.run("INSERT INTO items(name) VALUES (?)", [.text("row-\(index)")])
                        return connection.lastInsertRowID
                    }
                    if id <= 0 { failures.add(1, ordering: .relaxed) }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(try names(database) == Set((0..<200).map { "row-\($0)" }))
        let statistics = database.statistics
        #expect(statistics.writes == 201)
        #expect(statistics.commits == 2)  // the gate's batch, then all 200 together
        #expect(statistics.largestBatch == 200)
        #expect(statistics.failedWrites == 0)
        #expect(statistics.commitNanoseconds > 0)
    }

    @Test func unbatchedWritersStillSucceedUnderContention() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        runOnThreads(64) { index in
            _ = try? database.write { try $0.run("INSERT INTO items(name) VALUES (?)", [.text("r\(index)")]) }
        }
        #expect(try count(database) == 64)
        #expect(database.statistics.commits <= database.statistics.writes)
    }

    @Test(arguments: [1, 16])
    func batchesNeverExceedMaxBatchSize(_ maxBatchSize: Int) throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory) { $0.maxBatchSize = maxBatchSize }
        defer { database.close() }
        try withGate(database, queued: 50) {
            runOnThreads(50) { index in
                _ = try? database.write { try $0.run("INSERT INTO items(name) VALUES (?)", [.text("r\(index)")]) }
            }
        }
        #expect(try count(database) == 50)
        let statistics = database.statistics
        #expect(statistics.largestBatch == maxBatchSize)
        #expect(statistics.commits == 1 + (50 + maxBatchSize - 1) / maxBatchSize)
    }

    enum Outcome: Sendable, Equatable {
        case inserted
        case ownError(Int)
        case constraint
        case other(String)
    }

    @Test func failingWritesDoNotAffectTheirNeighbours() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        try database.write { try $0.run("INSERT INTO items(name) VALUES ('taken')") }
        let outcomes = Mutex<[Int: Outcome]>([:])
        try withGate(database, queued: 90) {
            runOnThreads(90) { index in
                let outcome: Outcome
                do {
                    try database.write { connection in
                        switch index % 3 {
                        case 0:
                            try connection.run("INSERT INTO items(name) VALUES (?)", [.text("thrown-\(index)")])
                            throw TestFailure(id: index)
                        case 1:
                            try connection.run("INSERT INTO items(name) VALUES (?)", [.text("partial-\(index)")])
                            try connection.run("INSERT INTO items(name) VALUES ('taken')")
                        default:
                            try connection.run("INSERT INTO items(name) VALUES (?)", [.text("ok-\(index)")])
                        }
                    }
                    outcome = .inserted
                } catch let error as TestFailure {
                    outcome = .ownError(error.id)
                } catch let error as SQLiteError where error.isUniqueViolation {
                    outcome = .constraint
                } catch {
                    outcome = .other("\(error)")
                }
                outcomes.withLock { $0[index] = outcome }
            }
        }
        let expected = Dictionary(uniqueKeysWithValues: (0..<90).map { index -> (Int, Outcome) in
            switch index % 3 {
            case 0: (index, .ownError(index))
            case 1: (index, .constraint)
            default: (index, .inserted)
            }
        })
        #expect(outcomes.withLock { $0 } == expected)
        let survivors = Set(stride(from: 2, to: 90, by: 3).map { "ok-\($0)" }).union(["taken"])
        #expect(try names(database) == survivors)
        #expect(database.statistics.failedWrites == 60)
        #expect(database.statistics.largestBatch == 90)
    }

    @Test func deferredForeignKeyViolationFailsOnlyItsOwnWrite() throws {
        let directory = TemporaryDirectory()
        let schema = Migration(version: 2, name: "children", sql: """
            CREATE TABLE children(id INTEGER PRIMARY KEY,
                item_id INTEGER NOT NULL REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED);
            """)
        let database = try openDatabase(directory, migrations: [itemsMigration, schema])
        defer { database.close() }
        let parent = try database.write { connection in
            try connection.run("INSERT INTO items(name) VALUES ('parent')")
            return connection.lastInsertRowID
        }
        let orphanFailed = Atomic<Bool>(false)
        try withGate(database, queued: 3) {
            runOnThreads(3) { index in
                do {
                    try database.write { connection in
                        try connection.run("INSERT INTO children(item_id) VALUES (?)", [.integer(index == 1 ? 9999 : parent)])
                    }
                } catch let error as SQLiteError where error.isForeignKeyViolation {
                    if index == 1 { orphanFailed.store(true, ordering: .relaxed) }
                } catch {}
            }
        }
        let orphanWasRefused = orphanFailed.load(ordering: .relaxed)
        #expect(orphanWasRefused)
        #expect(try count(database, "children") == 2)
    }

    @Test func failedCommitFailsEveryWriteOfTheBatchAndShowsNothing() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        let commitFailures = Atomic<Int>(0)
        try withGate(database, queued: 10) {
            runOnThreads(10) { index in
                do {
                    try database.write { connection in
                        try connection.run("INSERT INTO items(name) VALUES (?)", [.text("lost-\(index)")])
                        if index == 5 { connection.setCommitVeto(true) }
                    }
                } catch let error as SQLiteError where error.code == SQLiteError.constraintCommitHook {
                    commitFailures.add(1, ordering: .relaxed)
                } catch {}
            }
        }
        #expect(commitFailures.load(ordering: .relaxed) == 10)
        try database.write { connection in
            connection.setCommitVeto(false)
            try connection.run("INSERT INTO items(name) VALUES ('after')")
        }
        #expect(try names(database) == ["after"])
        #expect(database.statistics.failedWrites == 10)
    }
}
