import AtriumJSON
import Foundation
import Glibc
import Synchronization
import Testing

/// A full disk under a running server (issue #13), for real: the data directory is on a
/// small tmpfs that the test fills to the last byte.
@Suite("Storage full", .enabled(if: TestEngine.isSQLite, "SQLite only: fills the data directory's file system"))
struct StorageFullAPITests {
    private static func data(_ size: Int) -> String { #"{"blob":"\#(String(repeating: "b", count: size))"}"# }

    @Test("full disk: writes 503 with Retry-After, reads go on, nothing acknowledged lost, writes resume when freed",
          .enabled(if: ScratchMount.permitted, ScratchMount.skipReason))
    func diskFull() throws {
        let mount = try ScratchMount(megabytes: 16)
        defer { mount.unmount() }
        let server = try TestServer(dataDirectory: mount.path + "/data")
        defer { server.stop() }
        let client = try server.client()
        let account = try client.signUp()
        let workspace = account.mainWorkspaceID
        var acknowledged: [Int64] = []
        for _ in 0..<5 {
            let created = try Admin.createRecord(client, account.bearer, workspace, data: Self.data(30_000))
            #expect(created.status == 201, "\(created.text)")
            if let id = created.json["id"]?.int64Value { acknowledged.append(id) }
        }

        let filler = try mount.fill()
        var refusals = 0
        for _ in 0..<6 {
            let refused = try Admin.createRecord(client, account.bearer, workspace, data: Self.data(40_000))
            if refused.status == 201 {
                // It fitted in space SQLite already held (WAL pages): acknowledged, so it must stay.
                if let id = refused.json["id"]?.int64Value { acknowledged.append(id) }
                continue
            }
            refusals += 1
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.json["error"]?["code"]?.stringValue == "UNAVAILABLE", "\(refused.text)")
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("Storage is full") == true,
                    "\(refused.text)")
            #expect(refused.header("Retry-After").flatMap { Int($0) }.map { $0 > 0 } == true, "\(refused.text)")
        }
        #expect(refusals > 0, "no write was refused on a full disk")

        // A group commit on a full disk: concurrent writes share batches; each is answered
        // 201 (and kept) or 503, never 500, whatever its neighbours did.
        let outcomes = Mutex<[(Int, Int64?)]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let response = (try? server.client()).flatMap {
                try? Admin.createRecord($0, account.bearer, workspace, data: Self.data(index.isMultiple(of: 2) ? 200 : 20_000))
            }
            outcomes.withLock { $0.append((response?.status ?? 0, response?.json["id"]?.int64Value)) }
        }
        for (status, id) in outcomes.withLock({ $0 }) {
            #expect(status == 201 || status == 503, "a write in a batch on a full disk answered \(status)")
            if status == 201, let id { acknowledged.append(id) }
        }
        let workspaceWrite = try client.request("PATCH", "/v1/workspaces/\(workspace)", headers: [account.bearer],
                                                body: #"{"metadata":{"note":"\#(String(repeating: "m", count: 3000))"}}"#)
        #expect([200, 503].contains(workspaceWrite.status), "\(workspaceWrite.text)")

        // Reads keep working, and every acknowledged record is there.
        let listed = try Admin.listRecords(client, account.bearer, workspace)
        #expect(listed.status == 200, "\(listed.text)")
        let ids = Set(listed.json["data"]?.arrayValue?.compactMap { $0["id"]?.int64Value } ?? [])
        #expect(Set(acknowledged).isSubset(of: ids), "acknowledged \(acknowledged), listed \(ids)")
        #expect(try client.request("GET", "/readyz").status == 200)

        // The log says so at error level, once (rate-limited), never the SQL.
        var lines: [Substring] = []
        for _ in 0..<100 {  // the log arrives through a pipe, a moment after the answer
            lines = server.log.split(separator: "\n").filter { $0.contains("storage full") }
            if !lines.isEmpty { break }
            usleep(20_000)
        }
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains(#""level":"error""#) == true, "\(lines)")

        // Space freed: writes work again on the same process.
        try FileManager.default.removeItem(atPath: filler)
        let again = try Admin.createRecord(client, account.bearer, workspace, data: Self.data(40_000))
        #expect(again.status == 201, "\(again.text)")
        let metrics = try client.request("GET", "/metrics").text
        let counted = metrics.split(separator: "\n").first { $0.hasPrefix("atrium_store_storage_full_total ") }
            .flatMap { Int($0.split(separator: " ").last ?? "") }
        // At least the refusals seen here (the background usage flush may have been refused too).
        #expect((counted ?? 0) >= refusals + (workspaceWrite.status == 503 ? 1 : 0), "counted \(String(describing: counted))")

        // Durable across a restart too.
        #expect(server.stop() == 0)
        let restarted = try TestServer(dataDirectory: server.dataDirectory)
        defer { restarted.stop() }
        let after = try Admin.listRecords(try restarted.client(), account.bearer, workspace)
        let afterIDs = Set(after.json["data"]?.arrayValue?.compactMap { $0["id"]?.int64Value } ?? [])
        #expect(Set(acknowledged).isSubset(of: afterIDs))
        #expect(afterIDs.count == acknowledged.count + 1)
    }
}
