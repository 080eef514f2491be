import AtriumPostgres
import Foundation

/// Which store engine the API suite runs against: SQLite (the default), or PostgreSQL when
/// `ATRIUM_TEST_ENGINE=postgres` and `ATRIUM_TEST_DATABASE_URL` names a server
/// (`scripts/with-postgres.sh` starts a throw-away one). `make test` runs the suite both ways.
///
/// On PostgreSQL every data directory a test makes is paired with a fresh database, so a test
/// that restarts a server on "the same data directory" restarts it on the same database, and
/// every `atrium` command given `--data-dir D` also gets D's `--database-url`.
enum TestEngine {
    static let environment = ProcessInfo.processInfo.environment

    /// True when the suite runs on PostgreSQL.
    static let isPostgres: Bool = {
        guard environment["ATRIUM_TEST_ENGINE"] == "postgres" else { return false }
        guard environment["ATRIUM_TEST_DATABASE_URL"] != nil else {
            fatalError("ATRIUM_TEST_ENGINE=postgres needs ATRIUM_TEST_DATABASE_URL (run under scripts/with-postgres.sh)")
        }
        return true
    }()

    /// Which engine one server of a test runs on: the pass's (`configured`), or SQLite even in
    /// the PostgreSQL pass, for the tests that move a SQLite deployment onto PostgreSQL
    /// (`CopyStoreTests`). Only `TestServer` takes it; everything else runs on the pass's engine.
    enum Choice: Sendable {
        case configured
        case sqlite
    }

    /// Why a test runs on SQLite only, for `.enabled(if: TestEngine.isSQLite, …)`.
    static var isSQLite: Bool { !isPostgres }

    /// The secret every PostgreSQL-mode server gets unless the test passes its own:
    /// PostgreSQL mode generates none (instances must agree).
    static let jwtSecret = "test-secret-for-postgres-mode-0123456789abcdef"

    private static let lock = NSLock()
    nonisolated(unsafe) private static var databases: [String: String] = [:]

    /// The database URL paired with `dataDirectory`, created on first use.
    static func databaseURL(for dataDirectory: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let url = databases[dataDirectory] { return url }
        guard let admin = environment["ATRIUM_TEST_DATABASE_URL"] else {
            throw TestFailure("ATRIUM_TEST_DATABASE_URL is not set")
        }
        let name = "atrium_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        do {
            let connection = try PostgresConnection(url: admin)
            try connection.execute("CREATE DATABASE \(name)")
        } catch {
            throw TestFailure("cannot create a test database: \(error)")
        }
        let url = admin.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
        guard url != admin else { throw TestFailure("ATRIUM_TEST_DATABASE_URL must name the postgres database") }
        databases[dataDirectory] = url
        return url
    }

    /// `arguments` of an `atrium` command with what the engine needs added: on PostgreSQL the
    /// database of its `--data-dir` and, for `serve`, the shared secret when none is given.
    static func arguments(_ arguments: [String]) throws -> [String] {
        guard isPostgres, !arguments.contains("--database-url"),
              let flag = arguments.firstIndex(of: "--data-dir"), flag + 1 < arguments.count else { return arguments }
        var result = arguments + ["--database-url", try databaseURL(for: arguments[flag + 1])]
        if arguments.first == "serve" && !arguments.contains("--jwt-secret") {
            result += ["--jwt-secret", jwtSecret]
        }
        return result
    }
}
