import AtriumPostgres
import Foundation
import Glibc

/// Several `atrium serve` processes on one PostgreSQL database (the same data directory gives
/// the same database, `TestEngine`), for the multi-instance suite.
final class TestCluster: @unchecked Sendable {
    // @unchecked Sendable: `servers` is set once in init; `TestServer` is itself Sendable.
    let servers: [TestServer]
    let dataDirectory: String

    /// Starts `count` instances one after another (`parallel`: all at once) on a fresh database.
    init(_ count: Int, _ arguments: [String] = [], parallel: Bool = false) throws {
        let directory = TestServer.makeTemporaryDirectory()
        dataDirectory = directory
        _ = try TestEngine.databaseURL(for: directory)
        if !parallel {
            servers = try (0..<count).map { _ in try TestServer(arguments, dataDirectory: directory) }
            return
        }
        let started = RecordBag<Result<TestServer, any Error>>()
        recordThreads(count) { _ in
            started.append(Result { try TestServer(arguments, dataDirectory: directory) })
        }
        servers = try started.all.map { try $0.get() }
    }

    subscript(index: Int) -> TestServer { servers[index] }

    /// The instance `index` modulo the cluster's size: requests alternate by counter.
    func server(_ index: Int) -> TestServer { servers[index % servers.count] }

    /// A direct connection to the cluster's database, for what only the database can tell.
    func database() throws -> PostgresConnection {
        try PostgresConnection(url: try TestEngine.databaseURL(for: dataDirectory))
    }

    /// The index of the instance that delivers webhooks, read from the servers' logs
    /// ("delivers now"), waiting up to `timeout` seconds for one to say so.
    func deliveringInstance(among candidates: [Int]? = nil, timeout: Double = 10) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        let holder: () -> String? = { [self] in
            guard let rows = try? database().query("SELECT holder FROM cluster_leaders WHERE role = 'webhooks'"),
                  case .text(let holder)? = rows.first?.first else { return nil }
            return holder
        }
        repeat {
            if let holder = holder() {
                for index in candidates ?? Array(servers.indices)
                where holder.contains("/\(servers[index].process.processIdentifier)/") {
                    return index
                }
            }
            usleep(100_000)
        } while Date() < deadline
        return nil
    }
}
