import Foundation
import Synchronization
import Testing
@testable import AtriumSQLite

/// `write(_:completion:)`: the caller does not wait; the writer thread reports each write
/// after its batch's COMMIT, with the same per-write isolation as a blocking write.
@Suite struct DeferredWriteTests {
    struct Refused: Error, Equatable {}

    /// What one completion saw: its result, and whether its row was already visible to a
    /// reader (that is, committed) when it was told.
    struct Report: Sendable {
        let id: Int64?
        let error: String?
        let committedWhenReported: Bool
    }

    @Test func deferredWritesShareOneCommitAndAreReportedAfterIt() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory) { $0.synchronous = .full }
        defer { database.close() }
        let reports = Mutex<[Int: Report]>([:])
        let done = DispatchSemaphore(value: 0)
        try withGate(database, queued: 40) {
            for index in 0..<40 {
                database.write({ connection in
                    try connection.run("INSERT INTO items(name) VALUES (?)", [.text("deferred-\(index)")])
                    return connection.lastInsertRowID
                }, completion: { result in
                    let id = try? result.get()
                    let visible = (try? database.read { connection in
                        try connection.query("SELECT 1 FROM items WHERE name = ?", [.text("deferred-\(index)")]).count
                    }) == 1
                    reports.withLock { $0[index] = Report(id: id, error: nil, committedWhenReported: visible) }
                    done.signal()
                })
            }
        }
        for _ in 0..<40 { #expect(done.wait(timeout: .now() + 20) == .success) }
        let seen = reports.withLock { $0 }
        #expect(seen.count == 40)
        #expect(seen.values.allSatisfy { ($0.id ?? 0) > 0 && $0.committedWhenReported })
        #expect(database.statistics.commits == 2)  // the gate's batch, then the 40 together
        #expect(database.statistics.largestBatch == 40)
    }

    @Test func aFailingDeferredWriteFailsAloneWithItsOwnError() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        let results = Mutex<[Int: Result<Int64, any Error>]>([:])
        let done = DispatchSemaphore(value: 0)
        try withGate(database, queued: 3) {
            for index in 0..<3 {
                database.write({ connection -> Int64 in
                    try connection.run("INSERT INTO items(name) VALUES (?)", [.text("n\(index)")])
                    if index == 1 { throw Refused() }
                    return connection.lastInsertRowID
                }, completion: { result in
                    results.withLock { $0[index] = result }
                    done.signal()
                })
            }
        }
        for _ in 0..<3 { #expect(done.wait(timeout: .now() + 20) == .success) }
        let seen = results.withLock { $0 }
        #expect((try? seen[0]?.get()) != nil)
        #expect((try? seen[2]?.get()) != nil)
        if case .failure(let error)? = seen[1] {
            #expect(error as? Refused == Refused())
        } else {
            Issue.record("the throwing write was reported as \(String(describing: seen[1]))")
        }
        #expect(try names(database) == ["n0", "n2"])
    }

    @Test func aClosedDatabaseReportsAtOnceAndWritesNothing() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        database.close()
        let outcome = Mutex<Result<Int, any Error>?>(nil)
        database.write({ connection -> Int in
            try connection.run("INSERT INTO items(name) VALUES ('late')")
            return 1
        }, completion: { result in outcome.withLock { $0 = result } })
        let reported = outcome.withLock { $0 }
        guard case .failure(let error)? = reported else {
            Issue.record("expected an immediate failure, got \(String(describing: reported))")
            return
        }
        #expect(error is SQLiteError)
    }

    @Test func aCompletionMayQueueTheNextWrite() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        let done = DispatchSemaphore(value: 0)
        database.write({ try $0.run("INSERT INTO items(name) VALUES ('first')") }, completion: { _ in
            // On the writer thread: queueing must not wait for the writer itself.
            database.write({ try $0.run("INSERT INTO items(name) VALUES ('second')") }, completion: { _ in
                done.signal()
            })
        })
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(try names(database) == ["first", "second"])
    }
}
