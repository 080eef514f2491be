import AtriumJSON
import AtriumPostgres
import AtriumTestSupport
import Foundation
import Testing

/// A SQLite deployment built through the API for `CopyStoreTests`, and what a client saw of
/// it before the server stopped: what must still hold once it runs on PostgreSQL.
struct SQLiteDeployment {
    let dataDirectory: String
    /// The secret the SQLite server generated and signed its tokens with.
    let jwtSecret: String
    let owner: TestAccount
    let guest: TestAccount
    let fullKey: String
    let workspaceKey: String
    let secondWorkspace: Int64
    let pendingInvitee: String
    /// Record id → (ETag, data) as the server answered them.
    let records: [Int64: (etag: String, data: JSONValue)]
    /// The record created with `idempotencyKey` and that request's body.
    let idempotentRecord: Int64
    /// The last record created, deleted before the stop: the largest id SQLite gave out.
    let deletedRecord: Int64
    static let idempotencyKey = "copy-store-create-1"
    static let idempotentBody = #"{"data":{"title":"first","n":1}}"#
    /// `GET /v1/events` of the owner's main workspace, newest first.
    let eventIDs: [Int64]
    let webhookID: Int64
    let receiver: WebhookReceiver
    /// Deliveries the receiver had when the server stopped (one per event, in order).
    let deliveredEvents: [String]

    /// Signs up two users (the second a member of the first's workspace), a second workspace, a
    /// pending invitation, a full and a workspace API key, records (one updated twice, one
    /// deleted, one created with an Idempotency-Key), a webhook that got every event; then stops.
    static func build() throws -> SQLiteDeployment {
        let receiver = try WebhookReceiver()
        // No --jwt-secret: the server generates <data-dir>/jwt-secret, which the PostgreSQL
        // instances are then given (docs/deployment.md, step 4).
        let server = try TestServer(Hooks.localFlags, engine: .sqlite)
        let client = try server.client()
        let owner = try client.signUp(password: "old password one")
        let guest = try client.signUp(password: "old password two")
        let main = owner.mainWorkspaceID
        let beforeHook = Set(EventListTests.ids(try client.request("GET", "/v1/events?limit=100",
                                                                   headers: [owner.bearer])))
        let hook = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(receiver.port)/hook")
        _ = try client.join(guest, workspaceID: main, owner: owner, role: "editor")
        let second = try client.createWorkspace(owner, name: "Second")
        let pending = uniqueEmail("pending")
        let invited = try Admin.invite(client, owner, main, email: pending)
        guard invited.status == 201 else { throw TestFailure("invite: \(invited.text)") }
        let fullKey = try client.createKey(owner, mode: "full").secret
        let workspaceKey = try Rec.workspaceKey(client, owner, main)

        let first = try client.request("POST", Rec.collectionPath(), headers: [owner.bearer,
                                       ("Idempotency-Key", idempotencyKey)], body: idempotentBody)
        guard first.status == 201, let firstID = first.json["id"]?.int64Value else {
            throw TestFailure("create: \(first.text)")
        }
        for n in 2...3 {
            let patched = try client.request("PATCH", Rec.recordPath(firstID), headers: [owner.bearer],
                                             body: #"{"data":{"n":\#(n)}}"#)
            guard patched.status == 200 else { throw TestFailure("patch: \(patched.text)") }
        }
        let byGuest = try Rec.createID(client, guest.bearer, data: #"{"by":"guest"}"#, workspace: main)
        _ = try Rec.createID(client, owner.bearer, data: #"{"in":"second"}"#, workspace: second)
        let doomed = try Rec.createID(client, owner.bearer, data: #"{"doomed":true}"#)
        guard try client.request("DELETE", Rec.recordPath(doomed), headers: [owner.bearer]).status == 204 else {
            throw TestFailure("delete failed")
        }
        var records: [Int64: (etag: String, data: JSONValue)] = [:]
        for id in [firstID, byGuest] {
            let read = try Rec.get(client, owner.bearer, id)
            records[id] = (read.header("ETag") ?? "", read.json["data"] ?? .null)
        }
        let events = try client.request("GET", "/v1/events?limit=100", headers: [owner.bearer])
        let eventIDs = EventListTests.ids(events)
        let expected = eventIDs.filter { !beforeHook.contains($0) }
        let delivered = receiver.waitForRequests(expected.count).compactMap { $0.headers["webhook-id"] }
        guard Set(delivered) == Set(expected.map { "evt_\($0)" }) else {
            throw TestFailure("webhook got \(delivered) of \(expected) before the stop")
        }
        _ = try Hooks.waitForDeliveries(client, owner.bearer, hook.id) { $0.count >= expected.count }
        server.stop()
        let secret = try String(contentsOfFile: server.dataDirectory + "/jwt-secret", encoding: .utf8)
        return SQLiteDeployment(
            dataDirectory: server.dataDirectory, jwtSecret: secret, owner: owner, guest: guest, fullKey: fullKey,
            workspaceKey: workspaceKey, secondWorkspace: second, pendingInvitee: pending, records: records,
            idempotentRecord: firstID, deletedRecord: doomed, eventIDs: eventIDs, webhookID: hook.id, receiver: receiver,
            deliveredEvents: delivered)
    }
}

enum CopyStore {
    /// A fresh, empty PostgreSQL database and the data directory `TestServer` pairs with it.
    static func freshDatabase() throws -> (dataDirectory: String, url: String) {
        let directory = TestServer.makeTemporaryDirectory()
        return (directory, try TestEngine.databaseURL(for: directory))
    }

    /// `atrium copy-store --data-dir … --database-url …`.
    static func run(from dataDirectory: String, to url: String) throws -> AtriumRun {
        try AtriumBinary.run(["copy-store", "--data-dir", dataDirectory, "--database-url", url], timeout: 60)
    }

    /// Row counts of every table of the database at `url`, for "unchanged" checks.
    static func rowCounts(_ url: String) throws -> [String: Int64] {
        let connection = try PostgresConnection(url: url)
        var counts: [String: Int64] = [:]
        let tables = try connection.query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
        for row in tables {
            guard case .text(let table) = row[0] else { continue }
            if case .integer(let count)? = try connection.query("SELECT count(*) FROM \"\(table)\"").first?.first {
                counts[table] = count
            }
        }
        return counts
    }
}
