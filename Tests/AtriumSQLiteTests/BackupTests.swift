import Foundation
import Synchronization
import Testing
@testable import AtriumSQLite

@Suite struct BackupTests {
    @Test func backupCopiesEveryRow() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        for index in 0..<100 {
            try database.write { try $0.run("INSERT INTO items(name) VALUES (?)", [.text("b\(index)")]) }
        }
        let target = directory.file("backups/copy.sqlite")
        try SQLiteDatabase.backup(from: directory.file("test.sqlite"), to: target)
        let copy = try openDatabase(directory, name: "backups/copy.sqlite")
        defer { copy.close() }
        #expect(try names(copy) == names(database))
        #expect(try copy.read { try $0.query("PRAGMA integrity_check") } == [[.text("ok")]])
    }

    @Test func backupIsConsistentWhileWritesContinue() throws {
        let directory = TemporaryDirectory()
        let database = try openDatabase(directory)
        defer { database.close() }
        for index in 0..<100 {
            try database.write { try $0.run("INSERT INTO items(name) VALUES (?)", [.text("seed\(index)")]) }
        }
        let stop = Atomic<Bool>(false)
        let written = Atomic<Int>(0)
        let group = DispatchGroup()
        group.enter()
        Thread {
            var index = 0
            while !stop.load(ordering: .relaxed) {
                // Two rows per transaction: a consistent copy never has exactly one of a pair.
                let pair = index
                _ = try? database.write { connection in
                    try connection.run("INSERT INTO items(name) VALUES (?)", [.text("live\(pair)-a")])
                    try connection.run("INSERT INTO items(name) VALUES (?)", [.text("live\(pair)-b")])
                }
                index += 1
                written.store(index, ordering: .relaxed)
            }
            group.leave()
        }.start()
        while written.load(ordering: .relaxed) < 20 { usleep(1000) }
        let target = directory.file("live-copy.sqlite")
        // Back up onto an existing file: it is replaced whole.
        try SQLiteDatabase.backup(from: directory.file("test.sqlite"), to: target)
        try SQLiteDatabase.backup(from: directory.file("test.sqlite"), to: target)
        stop.store(true, ordering: .relaxed)
        group.wait()

        let copy = try openDatabase(directory, name: "live-copy.sqlite")
        defer { copy.close() }
        #expect(try copy.read { try $0.query("PRAGMA integrity_check") } == [[.text("ok")]])
        let copied = try names(copy)
        #expect(copied.isSuperset(of: Set((0..<100).map { "seed\($0)" })))
        #expect(copied.count > 100 && copied.count % 2 == 0)
        #expect(copied.isSubset(of: try names(database)))
        #expect(!FileManager.default.fileExists(atPath: target + ".partial"))
    }

    @Test func backupOfMissingDatabaseFails() {
        let directory = TemporaryDirectory()
        #expect(throws: SQLiteError.self) {
            try SQLiteDatabase.backup(from: directory.file("absent.sqlite"), to: directory.file("copy.sqlite"))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("copy.sqlite")))
    }
}
