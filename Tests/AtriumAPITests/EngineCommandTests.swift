import AtriumPostgres
import AtriumStore
import Foundation
import Testing

/// The engine choice at the process level (issue #14; server.md, "Growing past one machine"):
/// a bad URL, an unreachable server, wrong credentials or a missing `--jwt-secret` stop a
/// command with a clear message and a non-zero exit, never a hang or a password in the
/// output; the admin commands work against PostgreSQL; `backup` there names `pg_dump`.
/// The cases that need no database server run in both passes.
@Suite("Engine commands")
struct EngineCommandTests {
    /// Runs `atrium` and checks it failed cleanly and quickly; returns its standard error.
    static func refused(_ arguments: [String], within seconds: Double = 8,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let started = Date()
        let run = try AtriumBinary.run(arguments, timeout: 30)
        let elapsed = Date().timeIntervalSince(started)
        #expect(!run.timedOut && run.exitedNormally && run.status != 0, "\(run.status) \(run.stderr)",
                sourceLocation: sourceLocation)
        #expect(elapsed < seconds, "took \(elapsed) s", sourceLocation: sourceLocation)
        #expect(!run.stderr.isEmpty, sourceLocation: sourceLocation)
        return run.stderr
    }

    static var directory: String { TestServer.makeTemporaryDirectory() }
    static let secret = ["--jwt-secret", TestEngine.jwtSecret]

    @Test("A URL of another scheme stops serve and the admin commands, naming postgres://")
    func badScheme() throws {
        for command in [["serve"], ["migrate"], ["user", "set-plan", "--email", "a@b.c", "--plan", "default"]] {
            let message = try Self.refused(command + ["--data-dir", Self.directory,
                                                      "--database-url", "mysql://root@127.0.0.1/atrium"] + Self.secret)
            #expect(message.contains("postgres://") && message.contains("postgresql://"), "\(message)")
        }
    }

    @Test("A port nothing listens on, or a socket directory that does not exist: a clear message, at once")
    func unreachable() throws {
        let port = try Hooks.closedPort()
        let tcp = try Self.refused(["serve", "--data-dir", Self.directory, "--database-url",
                                    "postgresql://atrium:tcp-secret-pw@127.0.0.1:\(port)/atrium"] + Self.secret)
        #expect(tcp.contains("cannot use the PostgreSQL database") && tcp.contains("\(port)"), "\(tcp)")
        #expect(tcp.lowercased().contains("refused"), "\(tcp)")
        #expect(!tcp.contains("tcp-secret-pw"), "the password is never printed: \(tcp)")

        let socketDirectory = "/nonexistent-atrium-socket-\(UUID().uuidString.prefix(8))"
        let socket = try Self.refused(["migrate", "--data-dir", Self.directory, "--database-url",
                                       "postgresql:///atrium?host=\(socketDirectory)&user=atrium"])
        #expect(socket.contains("cannot use the PostgreSQL database") && socket.contains(socketDirectory), "\(socket)")
    }

    @Test("PostgreSQL mode without --jwt-secret stops serve, naming the flag")
    func missingSecret() throws {
        let url = TestEngine.isPostgres ? try CopyStore.freshDatabase().url : "postgresql://atrium@127.0.0.1:1/atrium"
        let message = try Self.refused(["serve", "--data-dir", Self.directory, "--database-url", url])
        #expect(message.contains("--jwt-secret") && message.contains("--database-url"), "\(message)")
    }

    @Test("backup with --database-url refuses and names pg_dump")
    func backupNamesPgDump() throws {
        let url = TestEngine.isPostgres ? try CopyStore.freshDatabase().url : "postgresql://atrium@127.0.0.1:1/atrium"
        let message = try Self.refused(["backup", Self.directory + "/copy.db", "--data-dir", Self.directory,
                                        "--database-url", url])
        #expect(message.contains("pg_dump"), "\(message)")
    }

    @Test("A role that does not exist, or a wrong password: a message without the password",
          .enabled(if: TestEngine.isPostgres, "needs the PostgreSQL pass's server"))
    func wrongCredentials() throws {
        let admin = try #require(TestEngine.environment["ATRIUM_TEST_DATABASE_URL"])
        let noRole = admin.replacingOccurrences(of: "user=atrium", with: "user=nobody_\(UUID().uuidString.prefix(6))")
        let missing = try Self.refused(["migrate", "--data-dir", Self.directory, "--database-url", noRole])
        #expect(missing.contains("cannot use the PostgreSQL database") && missing.contains("nobody_"), "\(missing)")

        let role = "atrium_pw_" + UUID().uuidString.prefix(8).lowercased()
        try PasswordRole.create(role, password: "the-right-password", admin: admin)
        let wrong = try PasswordRole.url(admin, role: role, password: "wrong-pw-\(role)")
        let message = try Self.refused(["serve", "--data-dir", Self.directory, "--database-url", wrong] + Self.secret)
        #expect(message.contains("password authentication failed"), "\(message)")
        #expect(!message.contains("wrong-pw-") && message.contains("***"), "redacted: \(message)")
        // The right password works, so the refusal above was the password's.
        let right = try AtriumBinary.run(["migrate", "--data-dir", Self.directory, "--database-url",
                                          try PasswordRole.url(admin, role: role, password: "the-right-password")])
        #expect(right.status == 0, "\(right.stdout) \(right.stderr)")
    }

    @Test("migrate, user create, user set-plan and key create work against PostgreSQL",
          .enabled(if: TestEngine.isPostgres, "needs the PostgreSQL pass's server"))
    func adminCommandsOnPostgres() throws {
        let target = try CopyStore.freshDatabase()
        let flags = ["--data-dir", target.dataDirectory, "--database-url", target.url]
        let migrate = try AtriumBinary.run(["migrate"] + flags)
        #expect(migrate.status == 0 && migrate.stdout.contains("migrations applied"), "\(migrate.stderr)")
        #expect(!migrate.stdout.contains("atrium.db"), "the URL, not a SQLite file: \(migrate.stdout)")
        let versions = try PostgresConnection(url: target.url).query("SELECT count(*) FROM schema_migrations")
        #expect(versions.first?.first == .integer(Int64(EmbeddedPostgresMigrations.all.count)), "\(versions)")

        let email = uniqueEmail("cli")
        let create = try AtriumBinary.run(["user", "create", "--email", email, "--password", "cli password 1",
                                           "--password-iterations", "1000"] + flags)
        #expect(create.status == 0, "\(create.stderr)")
        let plan = try AtriumBinary.run(["user", "set-plan", "--email", email, "--plan", "default"] + flags)
        #expect(plan.status == 0 && plan.stdout.contains("default"), "\(plan.stderr)")
        let unknown = try AtriumBinary.run(["user", "set-plan", "--email", "nobody@example.com", "--plan", "default"]
                                           + flags)
        #expect(unknown.status != 0 && unknown.stderr.contains("no user"), "\(unknown.stderr)")
        let key = try AtriumBinary.run(["key", "create", "--email", email, "--mode", "full"] + flags)
        #expect(key.status == 0, "\(key.stderr)")
        let secret = key.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let server = try TestServer(dataDirectory: target.dataDirectory)
        let client = try server.client()
        let me = try client.request("GET", "/v1/me", headers: [bearer(secret)])
        #expect(me.status == 200 && me.text.contains(email), "\(me.text)")
        #expect(try client.login(email, "cli password 1").status == 200)
    }
}

/// A login role that must give a password (scram), with a database of its own, for the
/// wrong-password case: the test
/// cluster trusts local connections, so one `pg_hba.conf` line for this role alone is added
/// in front and the configuration reloaded; other roles are unaffected.
enum PasswordRole {
    static func create(_ role: String, password: String, admin: String) throws {
        let connection = try PostgresConnection(url: admin)
        try connection.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        try connection.execute("CREATE DATABASE \(role) OWNER \(role)")
        guard case .text(let path)? = try connection.query("SHOW hba_file").first?.first else {
            throw TestFailure("no hba_file")
        }
        let current = try String(contentsOfFile: path, encoding: .utf8)
        try ("local all \(role) scram-sha-256\n" + current).write(toFile: path, atomically: false, encoding: .utf8)
        _ = try connection.query("SELECT pg_reload_conf()")
        usleep(300_000)
    }

    /// The URL of `role`'s own database (named after it), as `role` with `password` in its
    /// authority (`postgresql://role:pw@/role?host=…`).
    static func url(_ admin: String, role: String, password: String) throws -> String {
        guard admin.hasPrefix("postgresql:///") else { throw TestFailure("unexpected admin URL \(admin)") }
        return "postgresql://\(role):\(password)@/" + admin.dropFirst("postgresql:///".count)
            .replacingOccurrences(of: "user=atrium", with: "user=\(role)")
            .replacingOccurrences(of: "postgres?", with: "\(role)?")
    }
}
