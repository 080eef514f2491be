import Foundation
import Synchronization
import Testing
@testable import AtriumSQLite

/// `SQLITE_FULL` inside a group commit. SQLite answers a full disk (here: the page limit, the
/// stand-in for a full file system) by rolling back the whole transaction, not just the
/// failing statement; the writes of the batch that had succeeded before it must not pay for
/// that: they run again and commit, and only the write that did not fit fails.
@Suite struct StorageFullTests {
    /// A database with room for small rows but not for a 200 KB one.
    private func openLimited(_ directory: TemporaryDirectory) throws -> SQLiteDatabase {
        let database = try openDatabase(directory) { $0.maxPageCount = 40 }
        return database
    }

    private static let large = String(repeating: "x", count: 200_000)

    @Test func aWriteThatDoesNotFitFailsWithFullAndItsNeighboursCommit() throws {
        let directory = TemporaryDirectory()
        let database = try openLimited(directory)
        defer { database.close() }
        let results = Mutex<[Int: Result<Int64, any Error>]>([:])
        let done = DispatchSemaphore(value: 0)
        let names = ["before-1", "before-2", Self.large, "after-1"]
        try withGate(database, queued: names.count) {
            for (index, name) in names.enumerated() {
                database.write({ connection in
                    try connection.run("INSERT INTO items(name) VALUES (?)", [.text(name)])
                    return connection.lastInsertRowID
                }, completion: { result in
                    results.withLock { $0[index] = result }
                    done.signal()
                })
            }
        }
        for _ in names { #expect(done.wait(timeout: .now() + 20) == .success) }
        let outcomes = results.withLock { $0 }
        for index in [0, 1, 3] {
            #expect((try? outcomes[index]?.get()) != nil, "write \(index): \(String(describing: outcomes[index]))")
        }
        if case .failure(let error as SQLiteError)? = outcomes[2] {
            #expect(error.isFull, "\(error)")
        } else {
            Issue.record("the large write did not fail with SQLITE_FULL: \(String(describing: outcomes[2]))")
        }
        #expect(try AtriumSQLiteTests.names(database) == ["before-1", "before-2", "after-1"])
    }

    @Test func readsWorkAndWritesResumeAfterAFullDisk() throws {
        let directory = TemporaryDirectory()
        let database = try openLimited(directory)
        defer { database.close() }
        try database.write { try $0.run("INSERT INTO items(name) VALUES ('kept')") }
        #expect(throws: SQLiteError.self) {
            try database.write { try $0.run("INSERT INTO items(name) VALUES (?)", [.text(Self.large)]) }
        }
        #expect(try AtriumSQLiteTests.names(database) == ["kept"])
        try database.write { try $0.run("INSERT INTO items(name) VALUES ('later')") }
        #expect(try AtriumSQLiteTests.names(database) == ["kept", "later"])
    }
}
