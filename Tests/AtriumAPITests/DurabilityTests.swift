import AtriumJSON
import Foundation
import Glibc
import Testing

/// server.md "Store": an acknowledged write survives `kill -9`; `atrium backup` makes a
/// usable copy while the server runs.
@Suite("Durability")
struct DurabilityTests {
    static let secret = "wire-durability-secret-0123456789abcdef-XYZ"

    /// Every key id GET /v1/api-keys lists, following `next_cursor`.
    private func listedKeyIDs(_ client: HTTPTestClient, token: String) throws -> Set<Int64> {
        var ids = Set<Int64>()
        var cursor: String?
        for _ in 0..<100 {
            var path = "/v1/api-keys?limit=100"
            if let cursor { path += "&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor)" }
            let page = try client.request("GET", path, headers: [("Authorization", "Bearer \(token)")])
            guard page.status == 200, let data = page.json["data"]?.arrayValue else {
                throw TestFailure("list keys failed: \(page.status) \(page.text)")
            }
            for key in data { if let id = key["id"]?.int64Value { ids.insert(id) } }
            guard let next = page.json["next_cursor"]?.stringValue, !data.isEmpty else { break }
            cursor = next
        }
        return ids
    }

    private func logIn(_ client: HTTPTestClient, email: String, password: String) throws -> TestResponse {
        try client.request("POST", "/v1/auth/login", body: #"{"email":"\#(email)","password":"\#(password)"}"#)
    }

    @Test("200 concurrent acknowledged writes all survive kill -9")
    func acknowledgedWritesSurviveKill9() throws {
        let server = try TestServer(["--jwt-secret", Self.secret])
        let account = try server.client().signUp()
        let port = server.port
        let token = account.accessToken
        let acknowledged = Collected<Int64>()
        let failures = Collected<String>()
        let threads = 16
        let total = 200
        runOnThreads(threads) { thread in
            do {
                let client = try HTTPTestClient(port: port)
                var index = thread
                while index < total {
                    let response = try client.request("POST", "/v1/api-keys", headers: [("Authorization", "Bearer \(token)")],
                                                      body: #"{"name":"durable-\#(index)","mode":"full"}"#)
                    if response.status == 201, let id = response.json["id"]?.int64Value {
                        acknowledged.append(id)
                    } else {
                        failures.append("\(response.status) \(response.text)")
                    }
                    index += threads
                }
            } catch {
                failures.append("\(error)")
            }
        }
        server.kill9()
        #expect(failures.all.isEmpty, "writes not acknowledged: \(failures.all.prefix(3))")
        let ids = acknowledged.all
        #expect(ids.count == total)
        #expect(Set(ids).count == ids.count, "duplicate ids acknowledged")

        let restarted = try TestServer(["--jwt-secret", Self.secret], dataDirectory: server.dataDirectory)
        let client = try restarted.client()
        let login = try logIn(client, email: account.email, password: account.password)
        #expect(login.status == 200)
        let fresh = try #require(login.json["access_token"]?.stringValue)
        let listed = try listedKeyIDs(client, token: fresh)
        let missing = Set(ids).subtracting(listed)
        #expect(missing.isEmpty, "\(missing.count) acknowledged keys lost after kill -9: \(missing.sorted().prefix(10))")
        // The session issued before the crash is durable too (same secret).
        #expect(try client.request("GET", "/v1/me", headers: [account.bearer]).status == 200)
    }

    @Test("atrium backup while the server serves writes produces a database a new server runs on",
          .enabled(if: TestEngine.isSQLite, "SQLite only: atrium backup; PostgreSQL uses pg_dump"))
    func onlineBackup() throws {
        let server = try TestServer(["--jwt-secret", Self.secret])
        let account = try server.client().signUp()
        let port = server.port
        let token = account.accessToken
        let stop = Collected<Bool>()
        let written = Collected<Int64>()
        let failures = Collected<String>()
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            do {
                let client = try HTTPTestClient(port: port)
                var index = 0
                while stop.all.isEmpty && index < 2000 {
                    let response = try client.request("POST", "/v1/api-keys", headers: [("Authorization", "Bearer \(token)")],
                                                      body: #"{"name":"during-backup-\#(index)","mode":"full"}"#)
                    if response.status == 201, let id = response.json["id"]?.int64Value {
                        written.append(id)
                    } else {
                        failures.append("\(response.status) \(response.text)")
                    }
                    index += 1
                }
            } catch {
                failures.append("\(error)")
            }
        }
        // Let some writes land before and during the backup.
        _ = Wire.eventually(timeout: 10) { written.all.count >= 10 }
        let backupDirectory = TestServer.makeTemporaryDirectory()
        let backupFile = backupDirectory + "/snapshot.db"
        let run = try AtriumBinary.run(["backup", backupFile, "--data-dir", server.dataDirectory], timeout: 30)
        let writtenDuringBackup = written.all.count
        _ = Wire.eventually(timeout: 5) { written.all.count > writtenDuringBackup }
        stop.append(true)
        group.wait()

        #expect(run.exitedNormally && run.status == 0, "backup failed (\(run.status)): \(run.stderr) \(run.stdout)")
        #expect(!run.timedOut)
        #expect(failures.all.isEmpty, "writes failed while the backup ran: \(failures.all.prefix(3))")
        #expect(written.all.count > writtenDuringBackup, "the server stopped serving writes after the backup")
        #expect(FileManager.default.fileExists(atPath: backupFile))
        // The server is still healthy.
        #expect(try server.client().request("GET", "/readyz").status == 200)

        let restoredDirectory = TestServer.makeTemporaryDirectory()
        try FileManager.default.copyItem(atPath: backupFile, toPath: restoredDirectory + "/atrium.db")
        let restored = try TestServer(["--jwt-secret", Self.secret], dataDirectory: restoredDirectory)
        let client = try restored.client()
        let login = try logIn(client, email: account.email, password: account.password)
        #expect(login.status == 200)
        let fresh = try #require(login.json["access_token"]?.stringValue)
        let listed = try listedKeyIDs(client, token: fresh)
        #expect(listed.count >= 10, "the backup holds \(listed.count) of the keys written before it")
        #expect(listed.isSubset(of: Set(written.all)))
        // A write on the restored copy works (the file is a complete, writable database).
        let key = try client.request("POST", "/v1/api-keys", headers: [("Authorization", "Bearer \(fresh)")],
                                     body: #"{"name":"after-restore","mode":"full"}"#)
        #expect(key.status == 201)
    }
}
