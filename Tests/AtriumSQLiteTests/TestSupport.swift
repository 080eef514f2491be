import Foundation
import Synchronization
import Testing
@testable import AtriumSQLite

/// A fresh directory under the system temporary directory, removed when released.
final class TemporaryDirectory: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "atrium-sqlite-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

struct TestFailure: Error, Equatable {
    let id: Int
}

let itemsMigration = Migration(
    version: 1, name: "items",
    sql: "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);")

func openDatabase(
    _ directory: TemporaryDirectory, name: String = "test.sqlite",
    migrations: [Migration] = [itemsMigration],
    configure: (inout SQLiteConfiguration) -> Void = { _ in }
) throws -> SQLiteDatabase {
    var configuration = SQLiteConfiguration(path: directory.file(name))
    configuration.synchronous = .normal
    configure(&configuration)
    return try SQLiteDatabase(configuration: configuration, migrations: migrations)
}

/// Runs `body(i)` for i in 0..<count, each on its own new thread, and waits for all.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

/// Holds the writer in a "gate" write until `count` writes are queued behind it, so the
/// next batch deterministically holds all of them; `enqueue` starts those writes.
func withGate(_ database: SQLiteDatabase, queued count: Int, _ enqueue: () -> Void) throws {
    let started = DispatchSemaphore(value: 0)
    let group = DispatchGroup()
    let gateResult = Mutex<Bool>(false)
    group.enter()
    Thread {
        let reached = (try? database.write { _ -> Bool in
            started.signal()
            let deadline = Date().addingTimeInterval(20)
            while database.pendingWriteCount < count {
                if Date() > deadline { return false }
                usleep(500)
            }
            return true
        }) ?? false
        gateResult.withLock { $0 = reached }
        group.leave()
    }.start()
    started.wait()
    enqueue()
    group.wait()
    #expect(gateResult.withLock { $0 }, "the gate never saw \(count) queued writes")
}

func count(_ database: SQLiteDatabase, _ table: String = "items") throws -> Int64 {
    try database.read { connection in
        let statement = try connection.prepare("SELECT count(*) FROM \(table)")
        _ = try statement.step()
        return statement.int64(0)
    }
}

func names(_ database: SQLiteDatabase) throws -> Set<String> {
    try database.read { connection in
        Set(try connection.query("SELECT name FROM items").compactMap { row -> String? in
            if case .text(let name) = row[0] { return name }
            return nil
        })
    }
}
