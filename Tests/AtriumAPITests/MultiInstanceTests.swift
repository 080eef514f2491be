import AtriumJSON
import AtriumPostgres
import AtriumTestSupport
import Foundation
import Glibc
import Testing

/// Several instances on one PostgreSQL (issue #15, server.md "Growing past one machine"):
/// real `atrium serve` processes on one database with the same secret, requests alternated
/// between them. Nothing lost, nothing doubled, no rule weakened.
@Suite("Several instances on one PostgreSQL", .serialized,
       .enabled(if: TestEngine.isPostgres, "several instances share one database only on PostgreSQL"))
struct MultiInstanceTests {
    @Test("creates with unique Idempotency-Keys, each retried on the other instance: every record once")
    func idempotentCreatesAcrossInstances() throws {
        let cluster = try TestCluster(2)
        let account = try cluster[0].client().signUp()
        let failures = RecordBag<String>()
        let acknowledged = RecordBag<Int64>()
        recordThreads(4) { thread in
            guard let first = try? cluster.server(thread).client(),
                  let second = try? cluster.server(thread + 1).client() else { return failures.append("connect") }
            for n in 0..<25 {
                let key = "multi-\(thread)-\(n)"
                let created = try? Rec.create(first, account.bearer, data: #"{"n":\#(n)}"#,
                                              headers: [("Idempotency-Key", key)])
                let replayed = try? Rec.create(second, account.bearer, data: #"{"n":\#(n)}"#,
                                               headers: [("Idempotency-Key", key)])
                let a = created?.json["id"]?.int64Value
                let b = replayed?.json["id"]?.int64Value
                if created?.status != 201 || replayed?.status != 201 || a == nil || a != b {
                    failures.append("\(key): \(created?.status ?? -1) \(replayed?.status ?? -1) \(String(describing: a))"
                                    + " \(String(describing: b))")
                } else if let a {
                    acknowledged.append(a)
                }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        for index in 0..<2 {
            let listed = try Rec.listAllIDs(cluster[index].client(), account.bearer)
            #expect(listed.count == 100 && Set(listed) == Set(acknowledged.all), "instance \(index): \(listed.count)")
        }
    }

    @Test("racing If-Match PATCHes on both instances: one winner per version")
    func ifMatchAcrossInstances() throws {
        let cluster = try TestCluster(2)
        let setup = try cluster[0].client()
        let account = try setup.signUp()
        let id = try Rec.createID(setup, account.bearer, data: #"{"n":0}"#)
        for version in 1...3 {
            let statuses = RecordBag<Int>()
            recordThreads(8) { index in
                let response = try? cluster.server(index).client().request(
                    "PATCH", Rec.recordPath(id), headers: [account.bearer, ("If-Match", "\"\(version)\"")],
                    body: Rec.body(#"{"n":\#(index + 1)}"#))
                statuses.append(response?.status ?? -1)
            }
            #expect(statuses.all.filter { $0 == 200 }.count == 1, "version \(version): \(statuses.all.sorted())")
            #expect(statuses.all.filter { $0 == 412 }.count == 7, "version \(version): \(statuses.all.sorted())")
        }
        #expect(try Rec.get(cluster[1].client(), account.bearer, id).json["version"]?.int64Value == 4)
    }

    @Test("kill -9 of one instance under write load: every acknowledged record is read through the survivor")
    func killUnderWriteLoad() throws {
        let cluster = try TestCluster(2)
        let account = try cluster[1].client().signUp()
        let acknowledged = RecordBag<Int64>()
        let stop = Flag()
        let writers = DispatchGroup()
        for thread in 0..<4 {
            DispatchQueue.global().async(group: writers) {
                var client = try? cluster.server(thread).client()
                var n = 0
                while !stop.isSet {
                    n += 1
                    if let client, let response = try? Rec.create(client, account.bearer, data: #"{"n":\#(n)}"#),
                       response.status == 201, let id = response.json["id"]?.int64Value {
                        acknowledged.append(id)
                    } else {
                        // The killed instance's connections fail: keep writing through the survivor.
                        client = try? cluster[1].client()
                    }
                }
            }
        }
        usleep(800_000)
        cluster[0].kill9()
        usleep(800_000)
        stop.set()
        writers.wait()
        let listed = Set(try Rec.listAllIDs(cluster[1].client(), account.bearer))
        #expect(acknowledged.all.count > 20, "too little load: \(acknowledged.all.count)")
        #expect(Set(acknowledged.all).isSubset(of: listed),
                "lost: \(Set(acknowledged.all).subtracting(listed).sorted())")
    }

    @Test("events created on both instances reach the receiver: none missing, none twice")
    func webhooksFromBothInstances() throws {
        let cluster = try TestCluster(2, Hooks.localFlags)
        let receiver = try WebhookReceiver()
        let account = try cluster[0].client().signUp()
        _ = try Hooks.endpoint(cluster[1].client(), account.bearer, url: "http://127.0.0.1:\(receiver.port)/hook",
                               events: ["record.created"])
        let created = RecordBag<Int64>()
        recordThreads(4) { thread in
            guard let client = try? cluster.server(thread).client() else { return }
            for _ in 0..<15 { if let id = try? Hooks.createRecord(client, account.bearer) { created.append(id) } }
        }
        #expect(created.all.count == 60)
        let requests = receiver.waitForRequests(60, timeout: 20)
        usleep(500_000)
        let delivered = receiver.requests.compactMap { Hooks.json($0)["data"]?["id"]?.int64Value }
        #expect(Set(delivered) == Set(created.all), "missing: \(Set(created.all).subtracting(delivered).sorted())")
        #expect(delivered.count == Set(delivered).count, "delivered twice without a failure: \(requests.count)")
        #expect(cluster.deliveringInstance() != nil, "one instance holds the delivery role")
    }

    @Test("kill -9 of the delivering instance: another takes over within seconds, nothing lost")
    func dispatcherFailover() throws {
        let cluster = try TestCluster(2, Hooks.localFlags)
        let receiver = try WebhookReceiver()
        let account = try cluster[0].client().signUp()
        let endpoint = try Hooks.endpoint(cluster[0].client(), account.bearer,
                                          url: "http://127.0.0.1:\(receiver.port)/hook", events: ["record.created"])
        let leader = try #require(cluster.deliveringInstance(), "no instance delivers")
        let survivor = 1 - leader
        let client = try cluster[survivor].client()
        var created: [Int64] = []
        for _ in 0..<10 { created.append(try Hooks.createRecord(client, account.bearer)) }
        // Wait until the ten attempts are written back: then none is in flight at the kill.
        let recorded = try Hooks.waitForDeliveries(client, account.bearer, endpoint.id) { rows in
            rows.filter { $0["status"]?.stringValue == "succeeded" }.count >= 10
        }
        #expect(recorded.count == 10)
        cluster[leader].kill9()
        let killedAt = WebhookReceiver.monotonicSeconds()
        for _ in 0..<10 { created.append(try Hooks.createRecord(client, account.bearer)) }
        var delivered: [Int64] = []
        let deadline = killedAt + 20
        repeat {
            usleep(100_000)
            delivered = receiver.requests.compactMap { Hooks.json($0)["data"]?["id"]?.int64Value }
        } while !Set(created).isSubset(of: Set(delivered)) && WebhookReceiver.monotonicSeconds() < deadline
        usleep(500_000)
        let requests = receiver.requests
        delivered = requests.compactMap { Hooks.json($0)["data"]?["id"]?.int64Value }
        #expect(Set(delivered) == Set(created), "missing: \(Set(created).subtracting(delivered).sorted())")
        let resumed = requests.filter { $0.receivedAt > killedAt }.map(\.receivedAt).min()
        #expect(resumed.map { $0 - killedAt < 6 } ?? false, "delivery resumed after \(String(describing: resumed))")
        #expect(cluster.deliveringInstance(among: [survivor]) == survivor, "the survivor holds the role")
        // Nothing was in flight at the kill (the first ten were written back first): no duplicates.
        #expect(delivered.count == Set(delivered).count, "duplicates: \(delivered.sorted())")
    }

    @Test("a stream on one instance carries the other's events in order, at once, without gaps")
    func streamAcrossInstances() throws {
        let cluster = try TestCluster(2)
        let account = try cluster[0].client().signUp()
        let stream = try EventStreamTests.open(cluster[0], [account.bearer])
        let writer = try cluster[1].client()
        let started = WebhookReceiver.monotonicSeconds()
        _ = try Rec.createID(writer, account.bearer, data: #"{"n":0}"#)
        let first = stream.events(1, timeout: 5)
        let latency = WebhookReceiver.monotonicSeconds() - started
        #expect(first.count == 1)
        // Woken by the other instance's NOTIFY, not its sequencer's 200 ms poll alone.
        #expect(latency < 0.5, "first event after \(latency) s")
        recordThreads(4) { thread in
            guard let client = try? cluster.server(thread).client() else { return }
            for n in 0..<10 { _ = try? Rec.create(client, account.bearer, data: #"{"n":\#(n)}"#) }
        }
        let ids = ([first.first?.id].compactMap { $0 }) + stream.events(40, timeout: 20).map(\.id)
        #expect(ids.count == 41)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count, "out of order or repeated: \(ids)")
        let listed = try cluster[1].client().request("GET", "/v1/events?limit=100", headers: [account.bearer])
        let listedIDs = (listed.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(listedIDs.count == ids.count, "the list has \(listedIDs.count) events")
    }

    @Test("logout, key deletion and a role change on one instance refuse the next request on the other")
    func revocationAcrossInstances() throws {
        let cluster = try TestCluster(2)
        let a = try cluster[0].client()
        let b = try cluster[1].client()
        let owner = try a.signUp()
        let session = try b.signUp()
        #expect(try a.me(session.accessToken).status == 200)
        #expect(try b.request("POST", "/v1/auth/logout", headers: [session.bearer]).status == 204)
        expectError(try a.me(session.accessToken), 401, "INVALID_TOKEN", "logged out on the other instance")

        let key = try a.createKey(owner, mode: "full")
        #expect(try b.request("GET", "/v1/me", headers: [bearer(key.secret)]).status == 200)
        #expect(try a.request("DELETE", "/v1/api-keys/\(key.id)", headers: [owner.bearer]).status == 204)
        #expect(try b.request("GET", "/v1/me", headers: [bearer(key.secret)]).status == 401,
                "a key deleted on one instance is refused on the other")

        var member = try b.signUp()
        let memberID = try a.join(member, workspaceID: owner.mainWorkspaceID, owner: owner, role: "editor")
        member.accessToken = try #require(try b.login(member.email, member.password).json["access_token"]?.stringValue)
        let workspace = Rec.ws(owner.mainWorkspaceID)
        #expect(try Rec.create(b, member.bearer, data: #"{"n":1}"#, headers: [workspace]).status == 201)
        let demoted = try a.request("PATCH", "/v1/workspaces/\(owner.mainWorkspaceID)/members/\(memberID)",
                                    headers: [owner.bearer], body: #"{"role":"viewer"}"#)
        #expect(demoted.status == 200)
        #expect(try Rec.create(b, member.bearer, data: #"{"n":2}"#, headers: [workspace]).status == 403,
                "a role lowered on one instance holds on the other at once")

        let renamed = try a.request("PATCH", "/v1/me", headers: [owner.bearer], body: #"{"name":"Renamed"}"#)
        #expect(renamed.status == 200)
        #expect(try b.me(owner.accessToken).json["user"]?["name"]?.stringValue == "Renamed")
    }

    @Test("login failures spread over both instances reach the throttle at the same total")
    func loginThrottleAcrossInstances() throws {
        let cluster = try TestCluster(2, ["--login-failures-per-address", "4"])
        let clients = try [cluster[0].client(), cluster[1].client()]
        let account = try clients[0].signUp()
        for attempt in 0..<4 {
            expectError(try clients[attempt % 2].login(uniqueEmail("spray"), "wrong password"), 401,
                        "INVALID_CREDENTIALS", "attempt \(attempt + 1)")
        }
        expectError(try clients[0].login(account.email, account.password), 429, "RATE_LIMITED", "5th, on A")
        expectError(try clients[1].login(account.email, account.password), 429, "RATE_LIMITED", "5th, on B")
    }

    @Test("a plan limit raced on both instances is not overrun; a plan change is seen by both at once")
    func planLimitsAcrossInstances() throws {
        let plans = try Admin.writePlansFile(#"{"default":"small","plans":{"small":{"max_workspaces_per_user":3,"features":[]},"pro":{"features":["api_keys"]}}}"#)
        let cluster = try TestCluster(2, ["--plans-file", plans])
        let owner = try cluster[0].client().signUp()
        let statuses = RecordBag<Int>()
        recordThreads(8) { index in
            let response = try? cluster.server(index).client().request(
                "POST", "/v1/workspaces", headers: [owner.bearer], body: #"{"name":"w\#(index)"}"#)
            statuses.append(response?.status ?? -1)
        }
        #expect(statuses.all.filter { $0 == 201 }.count == 2, "\(statuses.all.sorted())")
        #expect(try cluster[1].client().workspaceIDs(owner).count == 3)

        let a = try cluster[0].client()
        let b = try cluster[1].client()
        #expect(try a.request("POST", "/v1/api-keys", headers: [owner.bearer], body: #"{"name":"k"}"#).status == 403)
        try Admin.cliSetPlan(email: owner.email, plan: "pro", server: cluster[0], plansFile: plans)
        #expect(try b.request("POST", "/v1/api-keys", headers: [owner.bearer], body: #"{"name":"k"}"#).status == 201,
                "the plan set through one instance's database is the other's on its next request")
    }

    @Test("refresh-token reuse is detected across instances")
    func refreshReuseAcrossInstances() throws {
        let cluster = try TestCluster(2)
        let a = try cluster[0].client()
        let b = try cluster[1].client()
        let account = try a.signUp()
        let rotated = try b.refresh(account.refreshToken)
        #expect(rotated.status == 200)
        let newAccess = try #require(rotated.json["access_token"]?.stringValue)
        #expect(try a.refresh(account.refreshToken).status == 401, "the old token presented on the other instance")
        #expect(try b.me(newAccess).status == 401, "reuse revoked the session everywhere")
    }

    @Test("three instances starting at once on an empty database: each migration once, all serve")
    func threeInstancesStartTogether() throws {
        let cluster = try TestCluster(3, parallel: true)
        for server in cluster.servers {
            #expect(try server.client().request("GET", "/readyz").status == 200)
        }
        let rows = try cluster.database().query(
            "SELECT count(*), count(DISTINCT version), max(version) FROM schema_migrations")
        let row = try #require(rows.first)
        #expect(row[0] == row[1], "a version applied twice: \(row)")
        #expect(row[1] == row[2], "a version missing: \(row)")
    }

    @Test("an instance older than the database's schema refuses to start")
    func olderInstanceRefuses() throws {
        let cluster = try TestCluster(1)
        cluster[0].stop()
        try cluster.database().run(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from_the_future', 0)")
        #expect(throws: TestFailure.self) { try TestServer([], dataDirectory: cluster.dataDirectory) }
        let run = try AtriumBinary.run(["serve", "--port", "0", "--data-dir", cluster.dataDirectory])
        #expect(run.status != 0)
        #expect(run.stderr.contains("9999"), "\(run.stderr)")
    }

    @Test("behind nginx with the documented configuration: both serve, a killed instance is routed around")
    func behindNginx() throws {
        let cluster = try TestCluster(2, ["--trusted-proxies", "127.0.0.1/32"])
        let nginx = try TestNginx(upstreams: cluster.servers.map(\.port))
        let front = try nginx.client()
        #expect(try front.request("GET", "/readyz").status == 200)
        let account = try front.signUp()
        var created: [Int64] = []
        for n in 0..<20 { created.append(try Rec.createID(front, account.bearer, data: #"{"n":\#(n)}"#)) }
        cluster[0].kill9()
        let stream = try EventStreamClient(port: nginx.port, headers: [account.bearer])
        #expect(stream.status == 200 && stream.next(timeout: 10) == .comment("stream open"),
                "the stream passes nginx unbuffered")
        for n in 20..<40 {
            let response = try nginx.client().request("POST", Rec.collectionPath(), headers: [account.bearer],
                                                      body: Rec.body(#"{"n":\#(n)}"#))
            #expect(response.status == 201, "after the kill: \(response.status) \(response.text)")
            if let id = response.json["id"]?.int64Value { created.append(id) }
        }
        #expect(Set(try Rec.listAllIDs(cluster[1].client(), account.bearer)) == Set(created))
        let streamed = stream.events(20, timeout: 10).map(\.id)
        #expect(streamed.count == 20, "events through nginx after the kill: \(streamed.count)")
    }
}

/// A flag threads poll to stop.
final class Flag: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
