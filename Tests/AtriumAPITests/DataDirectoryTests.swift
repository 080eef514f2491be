import AtriumJSON
import Foundation
import Glibc
import Testing

/// An unusable data directory stops `atrium serve` with a message naming the path and the
/// problem, a non-zero exit, and the file left byte for byte as it was (issue #13).
@Suite("Data directory", .enabled(if: TestEngine.isSQLite, "SQLite only: the data directory, its file checks and lock"))
struct DataDirectoryTests {
    /// `atrium serve` on `directory`, which must exit (not start).
    private func serveRefused(_ directory: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> AtriumRun
    {
        let run = try AtriumBinary.run(["serve", "--port", "0", "--data-dir", directory], timeout: 15)
        #expect(!run.timedOut, "the server started: \(run.stdout)", sourceLocation: sourceLocation)
        #expect(run.exitedNormally && run.status != 0, "exit \(run.status)", sourceLocation: sourceLocation)
        #expect(!run.stdout.contains("listening"), "\(run.stdout)", sourceLocation: sourceLocation)
        return run
    }

    /// A migrated data directory (the server's own database), stopped.
    private func migratedDirectory(in parent: String? = nil) throws -> String {
        let directory = (parent ?? TestServer.makeTemporaryDirectory()) + "/data"
        let run = try AtriumBinary.run(["migrate", "--data-dir", directory])
        guard run.status == 0 else { throw TestFailure("migrate failed: \(run.stderr)") }
        return directory
    }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test("a data directory that is a file: named, not a directory, untouched")
    func notADirectory() throws {
        let path = TestServer.makeTemporaryDirectory() + "/plain-file"
        try Data("not a directory\n".utf8).write(to: URL(fileURLWithPath: path))
        let before = try bytes(path)
        let run = try serveRefused(path)
        #expect(run.stderr.contains(path) && run.stderr.contains("is not a directory"), "\(run.stderr)")
        #expect(try bytes(path) == before)
    }

    @Test("atrium.db that is not SQLite: named, refused, untouched, nothing created beside it")
    func notSQLite() throws {
        let directory = TestServer.makeTemporaryDirectory()
        let database = directory + "/atrium.db"
        try Data(String(repeating: "my notes, not a database\n", count: 200).utf8).write(to: URL(fileURLWithPath: database))
        let before = try bytes(database)
        let run = try serveRefused(directory)
        #expect(run.stderr.contains(database) && run.stderr.contains("not a SQLite database"), "\(run.stderr)")
        #expect(try bytes(database) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["atrium.db"])
    }

    @Test("a damaged database: named, refused, untouched")
    func corrupt() throws {
        let directory = try migratedDirectory()
        let database = directory + "/atrium.db"
        var damaged = try bytes(database)
        // Keep the 100-byte file header, scribble over the schema page behind it.
        damaged.replaceSubrange(100..<4096, with: [UInt8](repeating: 0xA5, count: 3996))
        try damaged.write(to: URL(fileURLWithPath: database))
        let run = try serveRefused(directory)
        #expect(run.stderr.contains(database) && run.stderr.contains("damaged"), "\(run.stderr)")
        #expect(try bytes(database) == damaged)
        let migrate = try AtriumBinary.run(["migrate", "--data-dir", directory])
        #expect(migrate.status != 0 && migrate.stderr.contains("damaged"), "\(migrate.stderr)")
        #expect(try bytes(database) == damaged)
    }

    @Test("a read-only data directory: named, not writable, untouched",
          .enabled(if: ScratchMount.permitted, ScratchMount.skipReason))
    func readOnly() throws {
        let mount = try ScratchMount(megabytes: 8)
        defer { mount.unmount() }
        let directory = try migratedDirectory(in: mount.path)
        let database = directory + "/atrium.db"
        let before = try bytes(database)
        try mount.setReadOnly(true)
        let run = try serveRefused(directory)
        #expect(run.stderr.contains(directory) && run.stderr.contains("not writable"), "\(run.stderr)")
        #expect(run.stderr.contains("Read-only file system"), "\(run.stderr)")
        #expect(try bytes(database) == before)
    }

    @Test("a second serve on a served data directory refuses; admin writes still work beside it")
    func secondServerRefused() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let run = try serveRefused(server.dataDirectory)
        #expect(run.stderr.contains(server.dataDirectory) && run.stderr.contains("in use by another atrium serve"),
                "\(run.stderr)")
        #expect(run.stderr.contains("pid \(server.process.processIdentifier)"), "\(run.stderr)")
        // The running server is unharmed, and admin commands that write work beside it.
        #expect(try client.request("GET", "/v1/me", headers: [account.bearer]).status == 200)
        let migrate = try Admin.cli(["migrate"], server: server, plansFile: nil)
        #expect(migrate.status == 0, "\(migrate.stderr)")
        let key = try Admin.cliCreateFullKey(email: account.email, server: server, plansFile: nil)
        #expect(try client.request("GET", "/v1/me", headers: [("X-API-Key", key)]).status == 200)
        try Admin.cliSetPlan(email: account.email, plan: "default", server: server, plansFile: nil)
    }

    @Test("the lock dies with its server: a new serve starts after SIGTERM and after kill -9",
          arguments: ["SIGTERM", "SIGKILL"])
    func lockReleasedWhenTheServerDies(_ signal: String) throws {
        let first = try TestServer()
        let account = try first.client().signUp()
        if signal == "SIGKILL" { first.kill9() } else { #expect(first.stop() == 0) }
        let second = try TestServer(dataDirectory: first.dataDirectory)
        defer { second.stop() }
        let me = try second.client().request("GET", "/v1/me", headers: [account.bearer])
        #expect(me.status == 200, "\(me.text)")
    }
}
