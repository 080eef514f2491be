import Foundation
import Synchronization
import Testing
@testable import AtriumSQLite

@Suite struct DatabaseTests {
    @Test func thrownErrorRollsBackTheWriteAndIsRethrownUnchanged() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        #expect(throws: TestFailure(id: 7)) {
            try database.write { connection in
                try connection.run("INSERT INTO items(name) VALUES ('ghost')")
                throw TestFailure(id: 7)
            }
        }
        #expect(try count(database) == 0)
        #expect(throws: TestFailure(id: 8)) {
            try database.read { connection -> Int in
                _ = try connection.query("SELECT * FROM items")
                throw TestFailure(id: 8)
            }
        }
        // The reader went back to the pool usable, outside any transaction.
        #expect(try count(database) == 0)
    }

    @Test func readsSeeEveryCompletedWrite() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory) { $0.readerCount = 1 }
        defer { database.close() }
        for index in 0..<50 {
            try database.write { try $0.run("INSERT INTO items(name) VALUES (?)", [.text("n\(index)")]) }
            let seen = try database.read { connection -> Int64 in
                // Leave a multi-row statement half-stepped: it must not pin an old snapshot.
                let all = try connection.prepare("SELECT id FROM items ORDER BY id")
                _ = try all.step()
                let counting = try connection.prepare("SELECT count(*) FROM items")
                _ = try counting.step()
                return counting.int64(0)
            }
            #expect(seen == Int64(index + 1))
        }
    }

    @Test func readersDoNotWaitForTheWriter() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        try database.write { try $0.run("INSERT INTO items(name) VALUES ('before')") }
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = try? database.write { connection in
                try connection.run("INSERT INTO items(name) VALUES ('during')")
                inside.signal()
                _ = release.wait(timeout: .now() + 10)
            }
            done.signal()
        }.start()
        inside.wait()
        // The writer holds its transaction open; readers still run and see the last commit.
        let seenConcurrently = Mutex<[Set<String>]>([])
        runOnThreads(4) { _ in
            if let seen = try? names(database) { seenConcurrently.withLock { $0.append(seen) } }
        }
        release.signal()
        done.wait()
        #expect(seenConcurrently.withLock { $0 } == Array(repeating: ["before"], count: 4))
        #expect(try names(database) == ["before", "during"])
    }

    @Test func readBlocksWhileEveryReaderIsBusy() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory) { $0.readerCount = 1 }
        defer { database.close() }
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let order = Mutex<[String]>([])
        let group = DispatchGroup()
        group.enter()
        Thread {
            _ = try? database.read { _ in
                holding.signal()
                _ = release.wait(timeout: .now() + 10)
                order.withLock { $0.append("first done") }
            }
            group.leave()
        }.start()
        holding.wait()
        group.enter()
        Thread {
            _ = try? database.read { _ in order.withLock { $0.append("second ran") } }
            group.leave()
        }.start()
        usleep(50_000)
        release.signal()
        group.wait()
        #expect(order.withLock { $0 } == ["first done", "second ran"])
        #expect(database.statistics.reads == 2)
    }

    @Test func readersCannotWrite() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        #expect {
            try database.read { try $0.run("INSERT INTO items(name) VALUES ('nope')") }
        } throws: { error in
            (error as? SQLiteError)?.primaryCode == 8  // SQLITE_READONLY
        }
    }

    @Test func nestedWriteIsRefusedInsteadOfDeadlocking() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        #expect(throws: SQLiteError.self) {
            try database.write { _ in try database.write { _ in 1 } }
        }
    }

    @Test func closeFinishesQueuedWritesIsIdempotentAndRefusesLaterWork() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        #expect(database.isHealthy)
        let succeeded = Atomic<Int>(0)
        try withGate(database, queued: 20) {
            runOnThreads(20) { index in
                if (try? database.write({ try $0.run("INSERT INTO items(name) VALUES (?)", [.text("q\(index)")]) })) != nil {
                    succeeded.add(1, ordering: .relaxed)
                }
            }
        }
        database.close()
        database.close()
        #expect(succeeded.load(ordering: .relaxed) == 20)
        #expect(!database.isHealthy)
        #expect(throws: SQLiteError.self) {
            try database.write { try $0.run("INSERT INTO items(name) VALUES ('late')") }
        }
        #expect(throws: SQLiteError.self) {
            try database.read { _ in 1 }
        }
        let reopened = try openDatabase(directory)
        defer { reopened.close() }
        #expect(try count(reopened) == 20)
    }

    @Test func closeWhileWritesAreQueuedLetsThemFinish() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        let succeeded = Atomic<Int>(0)
        let started = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        group.enter()
        Thread {
            _ = try? database.write { _ in
                started.signal()
                while database.pendingWriteCount < 10 { usleep(500) }
                usleep(20_000)
            }
            group.leave()
        }.start()
        started.wait()
        for index in 0..<10 {
            group.enter()
            Thread {
                if (try? database.write({ try $0.run("INSERT INTO items(name) VALUES (?)", [.text("c\(index)")]) })) != nil {
                    succeeded.add(1, ordering: .relaxed)
                }
                group.leave()
            }.start()
        }
        while database.pendingWriteCount < 10 { usleep(500) }
        database.close()  // returns after the queued writes are committed
        let reopened = try openDatabase(directory)
        defer { reopened.close() }
        #expect(try count(reopened) == 10)
        group.wait()
        #expect(succeeded.load(ordering: .relaxed) == 10)
    }
}
