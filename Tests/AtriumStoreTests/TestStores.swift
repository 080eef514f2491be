import AtriumPostgres
import AtriumStore
import Foundation

/// The store a test opens, on the engine the suite runs on: SQLite in a fresh temporary
/// directory, or a fresh PostgreSQL database when `ATRIUM_TEST_ENGINE=postgres` (with
/// `ATRIUM_TEST_DATABASE_URL` from `scripts/with-postgres.sh`). `make test` runs both.
enum TestStores {
    static let isPostgres = ProcessInfo.processInfo.environment["ATRIUM_TEST_ENGINE"] == "postgres"
    static var isSQLite: Bool { !isPostgres }

    static func open(tag: String = "store", readerCount: Int = 2) throws -> Store {
        let directory = NSTemporaryDirectory() + "atrium-\(tag)-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = StoreConfiguration(dataDirectory: directory)
        configuration.synchronous = .normal
        configuration.readerCount = readerCount
        if isPostgres {
            guard let admin = ProcessInfo.processInfo.environment["ATRIUM_TEST_DATABASE_URL"] else {
                throw StoreTestFailure("ATRIUM_TEST_ENGINE=postgres needs ATRIUM_TEST_DATABASE_URL")
            }
            let name = "store_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let connection = try PostgresConnection(url: admin)
            try connection.execute("CREATE DATABASE \(name)")
            configuration.databaseURL = admin.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
            configuration.postgresWriterCount = 2
        }
        return try Store(configuration: configuration)
    }
}

struct StoreTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
