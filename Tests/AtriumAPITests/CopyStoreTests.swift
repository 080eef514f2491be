import AtriumJSON
import Foundation
import Testing

/// `atrium copy-store` (issue #14): a SQLite deployment built through the API, copied into a
/// fresh PostgreSQL database, keeps working there through the API: credentials, records,
/// event ids and cursors, webhook cursors, and new rows get new ids.
@Suite("Copy store", .enabled(if: TestEngine.isPostgres,
                              "copies SQLite into PostgreSQL: runs in the PostgreSQL pass (make test)"))
struct CopyStoreTests {
    @Test("A copied deployment serves its old credentials, records and events, and new rows continue after them")
    func copiedDeploymentKeepsWorking() throws {
        let old = try SQLiteDeployment.build()
        let target = try CopyStore.freshDatabase()
        let copy = try CopyStore.run(from: old.dataDirectory, to: target.url)
        #expect(copy.status == 0, "\(copy.stdout) \(copy.stderr)")
        for line in ["users ", "workspaces ", "members ", "api_keys ", "records ", "outbox ", "invitations ",
                     "webhooks ", "webhook_deliveries ", "idempotency_keys "] {
            #expect(copy.stdout.contains(line), "\(line) in \(copy.stdout)")
        }
        #expect(copy.stdout.contains("new events continue after evt_\(old.eventIDs.max() ?? 0)"), "\(copy.stdout)")
        #expect(!copy.stdout.contains("password"), "no secret in the report")

        let server = try TestServer(Hooks.localFlags + ["--jwt-secret", old.jwtSecret],
                                    dataDirectory: target.dataDirectory)
        let client = try server.client()

        // Credentials: passwords, the old access token (signed with the generated secret, now
        // given as --jwt-secret), the refresh token, both API keys.
        #expect(try client.login(old.owner.email, old.owner.password).status == 200)
        #expect(try client.login(old.guest.email, old.guest.password).status == 200)
        #expect(try client.me(old.owner.accessToken).status == 200)
        let refreshed = try client.refresh(old.owner.refreshToken)
        #expect(refreshed.status == 200, "\(refreshed.text)")
        #expect(try client.request("GET", "/v1/me", headers: [bearer(old.fullKey)]).status == 200)
        let viaWorkspaceKey = try Rec.list(client, bearer(old.workspaceKey))
        #expect(viaWorkspaceKey.status == 200, "\(viaWorkspaceKey.text)")
        #expect(Set(Rec.ids(viaWorkspaceKey)) == Set(old.records.keys))
        #expect(try Admin.pending(client, try client.signUp(email: old.pendingInvitee)).count == 1,
                "the pending invitation came along")

        // Records: same data and versions (ETags).
        for (id, before) in old.records {
            let read = try Rec.get(client, old.owner.bearer, id)
            #expect(read.status == 200 && read.header("ETag") == before.etag, "record \(id): \(read.text)")
            #expect(read.json["data"] == before.data, "record \(id)")
        }
        // The stored idempotency key replays the first answer instead of creating again.
        let replay = try client.request("POST", Rec.collectionPath(), headers: [
            old.owner.bearer, ("Idempotency-Key", SQLiteDeployment.idempotencyKey),
        ], body: SQLiteDeployment.idempotentBody)
        #expect(replay.header("Idempotent-Replayed") == "true", "\(replay.status) \(replay.text)")
        #expect(replay.json["id"]?.int64Value == old.idempotentRecord)

        // Events: the same ids in the same order; new ones continue after them.
        let events = try client.request("GET", "/v1/events?limit=100", headers: [old.owner.bearer])
        #expect(EventListTests.ids(events) == old.eventIDs, "\(events.text)")
        let lastOld = try #require(old.eventIDs.max())
        #expect(EventListTests.ids(try client.request("GET", "/v1/events?after=evt_\(lastOld)",
                                                      headers: [old.owner.bearer])).isEmpty)
        let newRecord = try Rec.createID(client, old.owner.bearer, data: #"{"after":"copy"}"#)
        #expect(newRecord > old.deletedRecord, "past the deleted record's id too")
        let after = try client.request("GET", "/v1/events?after=evt_\(lastOld)", headers: [old.owner.bearer])
        let newIDs = EventListTests.ids(after)
        #expect(newIDs.count == 1 && newIDs.allSatisfy { $0 > lastOld }, "\(after.text)")

        // New rows of every kind get fresh ids (the identity sequences were advanced).
        let newcomer = try client.signUp()
        #expect(newcomer.userID > old.guest.userID && newcomer.mainWorkspaceID > old.secondWorkspace)
        #expect(try client.createWorkspace(old.owner, name: "After") > newcomer.mainWorkspaceID)
        _ = try client.createKey(old.owner, mode: "full")
        _ = try client.join(newcomer, workspaceID: old.owner.mainWorkspaceID, owner: old.owner, role: "viewer")
        _ = try Hooks.endpoint(client, old.owner.bearer, url: "http://127.0.0.1:\(old.receiver.port)/other")

        // The webhook's cursor continued: every new event is delivered, none of the old again.
        let newEvents = EventListTests.ids(try client.request("GET", "/v1/events?after=evt_\(lastOld)&limit=100",
                                                              headers: [old.owner.bearer])).map { "evt_\($0)" }
        #expect(newEvents.count >= 2, "\(newEvents)")
        var fresh: [String] = []
        let deadline = Date().addingTimeInterval(15)
        repeat {
            usleep(50_000)
            fresh = old.receiver.requests.filter { $0.path == "/hook" }.compactMap { $0.headers["webhook-id"] }
                .filter { !old.deliveredEvents.contains($0) }
        } while fresh.count < newEvents.count && Date() < deadline
        #expect(Set(fresh) == Set(newEvents), "\(fresh) vs \(newEvents)")
        let hookRequests = old.receiver.requests.filter { $0.path == "/hook" }.count
        #expect(hookRequests == old.deliveredEvents.count + newEvents.count, "no old event delivered twice")
        let deliveries = try Hooks.deliveries(client, old.owner.bearer, old.webhookID)
        #expect(deliveries.count >= old.deliveredEvents.count + fresh.count, "the delivery log came along")
        server.stop()
    }

    @Test("A copy taken while the SQLite server writes is one snapshot: each copied record with its event")
    func copyWhileWriting() throws {
        let source = try TestServer(["--jwt-secret", TestEngine.jwtSecret], engine: .sqlite)
        let client = try source.client()
        let owner = try client.signUp()
        let before = try (0..<20).map { n in try Rec.createID(client, owner.bearer, data: #"{"n":\#(n)}"#) }
        let stop = RecordStopFlag()
        let written = RecordBag<Int64>()
        let finished = DispatchSemaphore(value: 0)
        let (port, token) = (source.port, owner.accessToken)
        Thread.detachNewThread {
            defer { finished.signal() }
            guard let writer = try? HTTPTestClient(port: port) else { return }
            while !stop.isSet {
                if let id = try? Rec.createID(writer, bearer(token), data: #"{"during":"copy"}"#) { written.append(id) }
            }
        }
        usleep(200_000)
        let target = try CopyStore.freshDatabase()
        let copy = try CopyStore.run(from: source.dataDirectory, to: target.url)
        usleep(200_000)
        stop.set()
        finished.wait()
        source.stop()
        #expect(copy.status == 0, "\(copy.stdout) \(copy.stderr)")

        let server = try TestServer(dataDirectory: target.dataDirectory)
        let reader = try server.client()
        let ids = try Rec.listAllIDs(reader, owner.bearer)
        let last = try #require(ids.max())
        #expect(ids.count < before.count + written.all.count, "writes after the snapshot are not copied")
        #expect(Set(ids) == Set(before + written.all.filter { $0 <= last }), "every record up to the snapshot")
        var created: [Int64] = []
        var path = "/v1/events?type=record.created&limit=100"
        while true {
            let page = try reader.request("GET", path, headers: [owner.bearer])
            created += EventListTests.events(page).compactMap { $0["data"]?["id"]?.int64Value }
            guard let next = page.json["next_cursor"]?.stringValue else { break }
            path = "/v1/events?type=record.created&limit=100&cursor=\(next)"
        }
        #expect(created.sorted() == ids.sorted(), "each copied record has its event and no event lacks its record")
    }

    @Test("Copying into a database that holds data is refused and changes nothing")
    func nonEmptyTargetIsRefused() throws {
        let source = try TestServer(["--jwt-secret", TestEngine.jwtSecret], engine: .sqlite)
        let client = try source.client()
        let account = try client.signUp()
        _ = try Rec.createID(client, account.bearer, data: #"{"n":1}"#)
        source.stop()

        // A database a server already put a user in.
        let target = try CopyStore.freshDatabase()
        let live = try TestServer(dataDirectory: target.dataDirectory)
        _ = try live.client().signUp()
        live.stop()
        let before = try CopyStore.rowCounts(target.url)
        let refused = try CopyStore.run(from: source.dataDirectory, to: target.url)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("not empty") && refused.stderr.contains("users"), "\(refused.stderr)")
        #expect(try CopyStore.rowCounts(target.url) == before)

        // A second copy into a database that got the first is refused the same way.
        // A database that is only migrated counts as empty.
        let first = try CopyStore.freshDatabase()
        #expect(try AtriumBinary.run(["migrate", "--data-dir", first.dataDirectory, "--database-url", first.url])
            .status == 0)
        #expect(try CopyStore.run(from: source.dataDirectory, to: first.url).status == 0)
        let copied = try CopyStore.rowCounts(first.url)
        #expect(copied["records"] == 1 && copied["users"] == 1, "\(copied)")
        let again = try CopyStore.run(from: source.dataDirectory, to: first.url)
        #expect(again.status != 0 && again.stderr.contains("not empty"), "\(again.stderr)")
        #expect(try CopyStore.rowCounts(first.url) == copied)
    }

    @Test("A missing SQLite database or a missing --database-url is refused before anything is written")
    func missingEnds() throws {
        let target = try CopyStore.freshDatabase()
        let missing = TestServer.makeTemporaryDirectory() + "/nothing-here"
        let run = try CopyStore.run(from: missing, to: target.url)
        #expect(run.status != 0 && run.stderr.contains("no SQLite database"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: missing + "/atrium.db"), "no empty database was created")
        let noURL = try AtriumBinary.run(["copy-store", "--data-dir", missing, "--database-url", ""])
        #expect(noURL.status != 0, "\(noURL.stderr)")
    }
}
