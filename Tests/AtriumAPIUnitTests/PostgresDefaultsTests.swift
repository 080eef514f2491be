import AtriumHTTP
import Testing
@testable import AtriumAPI

/// The pool sizes that change with `--database-url` (docs/configuration.md, "Engines"): more
/// read workers on PostgreSQL unless given, readers to match, and `--postgres-writers`.
@Suite struct PostgresDefaultsTests {
    static let url = "postgresql:///atrium?host=/tmp"
    static let cores = max(1, Int(System.coreCount))

    func load(_ arguments: [String], _ environment: [String: String] = [:]) throws -> AtriumConfiguration {
        try ConfigurationLoader.load(arguments: arguments, environment: environment).0
    }

    @Test func sqliteKeepsItsDefaults() throws {
        let configuration = try load([])
        #expect(configuration.readWorkers == Self.cores)
        #expect(configuration.readerCount == 8)
        #expect(configuration.postgresWriters == 8)
    }

    @Test func postgresGetsSeveralReadWorkersPerCoreAndReadersToMatch() throws {
        let configuration = try load(["--database-url", Self.url])
        let workers = AtriumConfiguration.postgresReadWorkersPerCore * Self.cores
        #expect(configuration.readWorkers == workers)
        #expect(configuration.readerCount == max(8, workers))
        #expect(configuration.postgresWriters == 8)
    }

    @Test func givenSizesWinOnPostgres() throws {
        let flags = try load(["--database-url", Self.url, "--read-workers", "3", "--readers", "2"])
        #expect(flags.readWorkers == 3 && flags.readerCount == 2)
        let variables = try load([], ["ATRIUM_DATABASE_URL": Self.url, "ATRIUM_READ_WORKERS": "5"])
        #expect(variables.readWorkers == 5 && variables.readerCount == 8)
        let readersOnly = try load(["--database-url", Self.url, "--readers", "64"])
        #expect(readersOnly.readerCount == 64)
        #expect(readersOnly.readWorkers == AtriumConfiguration.postgresReadWorkersPerCore * Self.cores)
    }

    @Test func postgresWritersTakesOneTo256() throws {
        #expect(try load(["--postgres-writers", "16"]).postgresWriters == 16)
        #expect(try load([], ["ATRIUM_POSTGRES_WRITERS": "4"]).postgresWriters == 4)
        #expect(throws: ConfigurationError.self) { try load(["--postgres-writers", "0"]) }
        #expect(throws: ConfigurationError.self) { try load(["--postgres-writers", "257"]) }
    }
}
