import AtriumJSON
import Foundation
import Testing

/// Every write that first reads holds under parallel clients (issue: "a concurrency test per
/// read-then-write rule"). On SQLite one writer serializes them; on PostgreSQL several
/// writer connections run them at once, and these tests are what shows the transactions
/// there are serializable: no lost update, no duplicate idempotent create, no limit overrun,
/// no double refresh. Each runs on whichever engine the suite runs on (`TestEngine`).
@Suite("Concurrent read-then-write rules", .serialized)
struct ConcurrentWriteTests {
    static let parallel = 12

    @Test("one Idempotency-Key sent by 12 clients at once: one record, every answer names it")
    func idempotentCreateRace() throws {
        let server = try TestServer()
        let setup = try server.client()
        let account = try Rec.signUp(setup, tag: "race-idem")
        let answers = RecordBag<(Int, Int64?)>()
        recordThreads(Self.parallel) { _ in
            guard let client = try? server.client(),
                  let response = try? Rec.create(client, account.bearer, data: #"{"n":1}"#,
                                                 headers: [("Idempotency-Key", "race-key-1")]) else {
                answers.append((-1, nil))
                return
            }
            answers.append((response.status, response.json["id"]?.int64Value))
        }
        let ids = Set(answers.all.compactMap(\.1))
        #expect(answers.all.allSatisfy { $0.0 == 201 }, "\(answers.all)")
        #expect(ids.count == 1, "every answer names the same record: \(ids)")
        #expect(try Rec.listAllIDs(setup, account.bearer).count == 1, "exactly one record exists")
    }

    @Test("12 PATCHes with the same If-Match at once: one 200, the rest 412, version 2")
    func ifMatchRace() throws {
        let server = try TestServer()
        let setup = try server.client()
        let account = try Rec.signUp(setup, tag: "race-match")
        let id = try Rec.createID(setup, account.bearer, data: #"{"n":0}"#)
        let statuses = RecordBag<Int>()
        recordThreads(Self.parallel) { index in
            let response = try? server.client().request(
                "PATCH", Rec.recordPath(id), headers: [account.bearer, ("If-Match", "\"1\"")],
                body: Rec.body(#"{"n":\#(index + 1)}"#))
            statuses.append(response?.status ?? -1)
        }
        #expect(statuses.all.filter { $0 == 200 }.count == 1, "\(statuses.all.sorted())")
        #expect(statuses.all.filter { $0 == 412 }.count == Self.parallel - 1, "\(statuses.all.sorted())")
        let record = try Rec.get(setup, account.bearer, id)
        #expect(record.json["version"]?.int64Value == 2)
    }

    @Test("one refresh token presented 12 times at once: at most one exchange succeeds")
    func refreshRace() throws {
        let server = try TestServer()
        let setup = try server.client()
        let account = try setup.signUp()
        let statuses = RecordBag<Int>()
        recordThreads(Self.parallel) { _ in
            statuses.append((try? server.client().refresh(account.refreshToken))?.status ?? -1)
        }
        #expect(statuses.all.filter { $0 == 200 }.count <= 1, "\(statuses.all.sorted())")
        #expect(statuses.all.allSatisfy { $0 == 200 || $0 == 401 }, "\(statuses.all.sorted())")
    }

    @Test("--max-workspaces-per-user 3 and 12 creates at once: exactly 3 workspaces")
    func workspaceLimitRace() throws {
        let server = try TestServer(["--max-workspaces-per-user", "3"])
        let setup = try server.client()
        let account = try setup.signUp()
        let statuses = RecordBag<Int>()
        recordThreads(Self.parallel) { index in
            let response = try? server.client().request("POST", "/v1/workspaces", headers: [account.bearer],
                                                        body: #"{"name":"w\#(index)"}"#)
            statuses.append(response?.status ?? -1)
        }
        #expect(statuses.all.filter { $0 == 201 }.count == 2, "Main + 2: \(statuses.all.sorted())")
        #expect(statuses.all.filter { $0 == 403 }.count == Self.parallel - 2, "\(statuses.all.sorted())")
        #expect(try setup.workspaceIDs(account).count == 3)
    }

    @Test("12 renames of one API key at once: each answer is a whole key, and the last one stands")
    func keyUpdateRace() throws {
        let server = try TestServer()
        let setup = try server.client()
        let account = try setup.signUp()
        let created = try setup.request("POST", "/v1/api-keys", headers: [account.bearer],
                                        body: #"{"name":"k","mode":"full"}"#)
        guard let keyID = created.json["id"]?.stringValue ?? created.json["id"]?.int64Value.map(String.init) else {
            throw TestFailure("key create failed: \(created.status) \(created.text)")
        }
        let names = RecordBag<String>()
        recordThreads(Self.parallel) { index in
            let response = try? server.client().request("PUT", "/v1/api-keys/\(keyID)", headers: [account.bearer],
                                                        body: #"{"name":"name-\#(index)"}"#)
            if response?.status == 200, let name = response?.json["name"]?.stringValue { names.append(name) }
        }
        #expect(names.all.count == Self.parallel, "every rename answered 200: \(names.all)")
        let keys = try setup.accountKeys(account)
        let stored = keys.first { ($0["id"]?.stringValue ?? $0["id"]?.int64Value.map(String.init)) == keyID }
        #expect(stored?["name"]?.stringValue.map { names.all.contains($0) } == true)
    }
}
