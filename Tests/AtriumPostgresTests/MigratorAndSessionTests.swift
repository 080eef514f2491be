import Foundation
import Synchronization
import Testing
@testable import AtriumPostgres
import AtriumStore

@Suite("PostgreSQL migrations and sessions", .enabled(if: TestCluster.isConfigured, TestCluster.skipReason))
struct MigratorAndSessionTests {
    static let racing: [PostgresMigration] = [
        PostgresMigration(version: 1, name: "log", sql: "CREATE TABLE applied (version BIGINT NOT NULL);"
                            + " INSERT INTO applied VALUES (1); SELECT pg_sleep(0.2);"),
        PostgresMigration(version: 2, name: "two", sql: "INSERT INTO applied VALUES (2); SELECT pg_sleep(0.1);"),
        PostgresMigration(version: 3, name: "three", sql: "INSERT INTO applied VALUES (3);"),
    ]

    @Test func threeMigratorsStartedTogetherApplyEachVersionOnce() throws {
        let fresh = try FreshDatabase()
        let errors = Mutex<[String]>([])
        runOnThreads(3) { _ in
            do {
                let database = try fresh.open(migrations: Self.racing) {
                    $0.readerCount = 1
                    $0.writerCount = 1
                }
                database.close()
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        #expect(errors.withLock { $0 } == [])
        let connection = try fresh.connect()
        #expect(try connection.query("SELECT version, count(*) FROM applied GROUP BY version ORDER BY version")
            == [[.integer(1), .integer(1)], [.integer(2), .integer(1)], [.integer(3), .integer(1)]])
        #expect(try connection.query("SELECT version, name FROM schema_migrations ORDER BY version")
            == [[.integer(1), .text("log")], [.integer(2), .text("two")], [.integer(3), .text("three")]])
        let stamp = try connection.query("SELECT applied_at FROM schema_migrations WHERE version = 1")
        if case .text(let text) = stamp.first?.first {
            #expect(text.count == 24 && text.hasSuffix("Z") && text.contains("T"), "\(text)")
        } else {
            Issue.record("applied_at is not text: \(stamp)")
        }
    }

    @Test func aNewerSchemaIsRefused() throws {
        let fresh = try FreshDatabase()
        try fresh.open(migrations: Self.racing).close()
        do {
            _ = try fresh.open(migrations: Array(Self.racing.prefix(2)))
            Issue.record("opened a database newer than the binary")
        } catch {
            #expect((error as? PostgresError)?.message == "the database schema is at version 3, newer than this binary's 2: upgrade atrium")
        }
    }

    @Test func aFailingMigrationLeavesThePreviousVersion() throws {
        let fresh = try FreshDatabase()
        let broken = PostgresMigration(version: 2, name: "broken", sql: "CREATE TABLE half (x BIGINT); SELECT 1/0;")
        do {
            _ = try fresh.open(migrations: [itemsMigration, broken])
            Issue.record("a failing migration was accepted")
        } catch {
            #expect((error as? PostgresError)?.message.hasPrefix("migration 2 (broken) failed") == true)
        }
        let connection = try fresh.connect()
        #expect(try connection.query("SELECT max(version) FROM schema_migrations") == [[.integer(1)]])
        #expect(try connection.query("SELECT to_regclass('half') IS NULL") == [[.integer(1)]])
    }

    @Test func theEmbeddedMigrationsApplyAndMatchTheFiles() throws {
        let fresh = try FreshDatabase()
        try fresh.open(migrations: EmbeddedPostgresMigrations.all).close()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let folder = root.appendingPathComponent("migrations/postgres")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files.count == EmbeddedPostgresMigrations.all.count)
        for (file, migration) in zip(files, EmbeddedPostgresMigrations.all) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(file == String(format: "%04d_%@.sql", migration.version, migration.name))
            #expect(text.trimmingCharacters(in: .newlines) == migration.sql.trimmingCharacters(in: .newlines))
        }
        let sqlite = EmbeddedMigrations.all.map { "\($0.version) \($0.name)" }
        #expect(EmbeddedPostgresMigrations.all.map { "\($0.version) \($0.name)" } == sqlite)
    }

    @Test func advisoryLocksBelongToOneSessionAndDieWithIt() throws {
        let fresh = try FreshDatabase()
        let first = try PostgresSession(url: fresh.url)
        let second = try PostgresSession(url: fresh.url)
        defer { second.close() }
        #expect(try first.tryAdvisoryLock(42))
        #expect(try !second.tryAdvisoryLock(42))
        #expect(try first.advisoryUnlock(42))
        #expect(try second.tryAdvisoryLock(42))
        #expect(try !first.tryAdvisoryLock(42))
        #expect(try second.advisoryUnlock(42))
        #expect(try first.tryAdvisoryLock(-7))
        first.close()
        // The server releases the lock when the closed session's backend has exited.
        var taken = false
        for _ in 0..<200 where !taken {
            taken = try second.tryAdvisoryLock(-7)
            if !taken { usleep(10_000) }
        }
        #expect(taken)
    }

    @Test func listenWaitsForANotify() throws {
        let fresh = try FreshDatabase()
        let listener = try PostgresSession(url: fresh.url)
        let sender = try PostgresSession(url: fresh.url)
        defer {
            listener.close()
            sender.close()
        }
        try listener.listen(channel: "atrium_outbox")
        #expect(try !listener.wait(timeoutMilliseconds: 50))
        try sender.notify(channel: "atrium_outbox")
        #expect(try listener.wait(timeoutMilliseconds: 5000))
        #expect(try !listener.wait(timeoutMilliseconds: 20))
        // A notify sent while the listener already waits wakes it.
        let woke = Mutex<Bool?>(nil)
        let thread = Thread { woke.withLock { $0 = try? listener.wait(timeoutMilliseconds: 5000) } }
        thread.start()
        usleep(100_000)
        try sender.notify(channel: "atrium_outbox", payload: "x")
        let deadline = Date().addingTimeInterval(6)
        while woke.withLock({ $0 }) == nil && Date() < deadline { usleep(10_000) }
        #expect(woke.withLock { $0 } == true)
        // Other channels do not wake it.
        try sender.notify(channel: "elsewhere")
        #expect(try !listener.wait(timeoutMilliseconds: 100))
    }
}
