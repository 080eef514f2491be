import AtriumStore
import Glibc

/// `atrium copy-store --data-dir D --database-url URL`: moves a SQLite deployment onto an
/// empty PostgreSQL database (docs/deployment.md, "Moving a SQLite deployment to
/// PostgreSQL"). Its own file because it is the one command that opens both engines.
enum CopyStoreCommand {
    static func run(_ configuration: AtriumConfiguration, positional: [String]) throws {
        guard positional.isEmpty else { throw ConfigurationError("unexpected argument '\(positional[0])'") }
        guard let url = configuration.databaseURL else {
            throw ConfigurationError("copy-store needs --database-url (or ATRIUM_DATABASE_URL): the PostgreSQL "
                                     + "database to copy into; --data-dir names the SQLite data directory to copy")
        }
        let sqlitePath = StoreConfiguration(dataDirectory: configuration.dataDirectory).databasePath
        // Opening a store creates a missing database: a mistyped --data-dir would copy nothing.
        guard access(sqlitePath, F_OK) == 0 else {
            throw ConfigurationError("copy-store: there is no SQLite database at \(sqlitePath) (check --data-dir)")
        }
        var sourceConfiguration = StoreConfiguration(dataDirectory: configuration.dataDirectory)
        sourceConfiguration.readerCount = 1
        var targetConfiguration = StoreConfiguration(dataDirectory: configuration.dataDirectory)
        targetConfiguration.readerCount = 1
        targetConfiguration.postgresWriterCount = 1
        targetConfiguration.databaseURL = url
        // Opening each store applies its pending migrations, so both ends have this binary's schema.
        let source = try Store(configuration: sourceConfiguration)
        defer { source.close() }
        let target = try Store(configuration: targetConfiguration)
        defer { target.close() }
        let report: StoreCopyReport
        do {
            report = try source.copy(into: target)
        } catch {
            throw ConfigurationError("copy-store: \(error)")
        }
        let width = report.tables.map(\.table.count).max() ?? 0
        for count in report.tables {
            let padding = String(repeating: " ", count: width - count.table.count)
            Console.out("\(count.table)\(padding)  \(count.rows)")
        }
        Console.out("copied \(report.totalRows) rows from \(source.path) to \(target.path) in one transaction; "
                    + (report.lastEventID > 0 ? "new events continue after evt_\(report.lastEventID)"
                                              : "no events yet"))
    }
}
