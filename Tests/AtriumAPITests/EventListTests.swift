import AtriumJSON
import Foundation
import Testing

/// `GET /v1/events` (api.md §6 "Events"): the outbox read by callers, with the list
/// conventions, type filters, fan-out, per-permission visibility and the retention error.
@Suite("Event list")
struct EventListTests {
    static func events(_ response: TestResponse) -> [JSONValue] { response.json["data"]?.arrayValue ?? [] }
    static func ids(_ response: TestResponse) -> [Int64] {
        events(response).compactMap { $0["id"]?.stringValue.flatMap { Int64($0.dropFirst(4)) } }
    }

    /// A server whose owner's main workspace has one event of each family: `record.created`,
    /// `member.added` (a viewer joined) and `workspace.updated`, in that order.
    static func oneEventOfEachFamily() throws -> (server: TestServer, client: HTTPTestClient, owner: TestAccount) {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let guest = try client.signUp()
        let main = owner.mainWorkspaceID
        _ = try Admin.createRecord(client, owner.bearer, main, data: #"{"n":1}"#)
        try client.join(guest, workspaceID: main, owner: owner, role: "viewer")
        #expect(try client.request("PATCH", "/v1/workspaces/\(main)", headers: [owner.bearer],
                                   body: #"{"name":"Renamed"}"#).status == 200)
        return (server, client, owner)
    }

    @Test("Every change's event in the payload shape, newest first, for the resolved workspace only")
    func shapeAndOrder() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let guest = try client.signUp()
        let stranger = try client.signUp()
        let main = owner.mainWorkspaceID
        let created = try Admin.createRecord(client, owner.bearer, main, data: #"{"n":1}"#)
        let recordID = try #require(created.json["id"]?.int64Value)
        #expect(try client.request("PATCH", "/v1/records/\(recordID)", headers: [owner.bearer],
                                   body: #"{"data":{"n":2}}"#).status == 200)
        try client.join(guest, workspaceID: main, owner: owner, role: "viewer")
        #expect(try client.request("PATCH", "/v1/workspaces/\(main)", headers: [owner.bearer],
                                   body: #"{"name":"Renamed"}"#).status == 200)
        #expect(try client.request("DELETE", "/v1/records/\(recordID)", headers: [owner.bearer]).status == 204)
        _ = try Admin.createRecord(client, stranger.bearer, stranger.mainWorkspaceID, data: #"{"secret":true}"#)

        let response = try client.request("GET", "/v1/events", headers: [owner.bearer])
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("X-Workspace-ID") == String(main))
        let types = Self.events(response).compactMap { $0["type"]?.stringValue }
        #expect(types == ["record.deleted", "workspace.updated", "member.added", "record.updated", "record.created"],
                "\(response.text)")
        let ids = Self.ids(response)
        #expect(ids == ids.sorted(by: >) && ids.count == 5)
        for event in Self.events(response) {
            #expect(event["workspace_id"]?.int64Value == main)
            #expect(event["id"]?.stringValue?.hasPrefix("evt_") == true)
            #expect(isTimestamp(event["created_at"]), "\(event)")
            #expect(Admin.isObject(event["data"]), "\(event)")
        }
        #expect(Self.events(response).first?["data"]?["id"]?.int64Value == recordID)
        #expect(!response.text.contains("secret"), "another workspace's event leaked")
        // The guest sees the same workspace's events when naming it; never the stranger's.
        let asGuest = try client.request("GET", "/v1/events", headers: [guest.bearer, ("X-Workspace-ID", String(main))])
        #expect(Self.ids(asGuest) == ids)
        expectError(try client.request("GET", "/v1/events", headers: [owner.bearer,
                                                                       ("X-Workspace-ID", String(stranger.mainWorkspaceID))]),
                    403, "CROSS_TENANT_WORKSPACE")
    }

    @Test("Pages: newest first with cursor, oldest first after an event, no event twice or missing")
    func pagination() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        for n in 0..<25 { _ = try Admin.createRecord(client, owner.bearer, owner.mainWorkspaceID, data: #"{"n":\#(n)}"#) }
        var seen: [Int64] = []
        var path = "/v1/events?limit=10"
        while true {
            let page = try client.request("GET", path, headers: [owner.bearer])
            #expect(page.status == 200, "\(page.text)")
            seen += Self.ids(page)
            guard let next = page.json["next_cursor"]?.stringValue else { break }
            path = "/v1/events?limit=10&cursor=\(next)"
        }
        #expect(seen.count == 25 && Set(seen).count == 25 && seen == seen.sorted(by: >))
        let oldest = try #require(seen.last)
        var ascending: [Int64] = []
        path = "/v1/events?limit=7&after=evt_\(oldest)"
        while true {
            let page = try client.request("GET", path, headers: [owner.bearer])
            #expect(page.status == 200, "\(page.text)")
            ascending += Self.ids(page)
            guard let next = page.json["next_cursor"]?.stringValue else { break }
            path = "/v1/events?limit=7&cursor=\(next)"
        }
        #expect(ascending == Array(seen.reversed().dropFirst()), "after an event: oldest first, the rest of them")
        let plain = try client.request("GET", "/v1/events?after=\(oldest)&limit=1", headers: [owner.bearer])
        #expect(Self.ids(plain) == [oldest + 1] || Self.ids(plain).first ?? 0 > oldest)
        for bad in ["after=0", "after=evt_", "after=-1", "after=1&after=2", "cursor=zzz", "limit=0", "type=nope",
                    "type=bogus.*", "type=record.created,", "after=1&cursor=ZTE"] {
            expectError(try client.request("GET", "/v1/events?\(bad)", headers: [owner.bearer]), 400, "INVALID_PARAMETER",
                        bad)
        }
    }

    @Test("type= filters by type and by family; several may be given")
    func typeFilters() throws {
        let (server, client, owner) = try Self.oneEventOfEachFamily()
        defer { withExtendedLifetime(server) {} }
        func types(_ query: String) throws -> [String] {
            let response = try client.request("GET", "/v1/events?\(query)", headers: [owner.bearer])
            #expect(response.status == 200, "\(query): \(response.text)")
            return Self.events(response).compactMap { $0["type"]?.stringValue }
        }
        #expect(try types("type=record.*") == ["record.created"])
        #expect(try types("type=member.added") == ["member.added"])
        #expect(try types("type=member.*&type=workspace.updated") == ["workspace.updated", "member.added"])
        #expect(try types("type=record.created,workspace.updated") == ["workspace.updated", "record.created"])
        #expect(try types("type=record.deleted").isEmpty)
    }

    @Test("Fan-out: workspaces=all merges the caller's workspaces newest first; with a header it is WORKSPACE_MISMATCH")
    func fanOut() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let main = owner.mainWorkspaceID
        let second = try client.createWorkspace(owner, name: "Second")
        _ = try Admin.createRecord(client, owner.bearer, main, data: #"{"n":1}"#)
        _ = try Admin.createRecord(client, owner.bearer, second, data: #"{"n":2}"#)
        _ = try Admin.createRecord(client, owner.bearer, main, data: #"{"n":3}"#)
        let all = try client.request("GET", "/v1/events?workspaces=all", headers: [owner.bearer])
        #expect(all.status == 200, "\(all.text)")
        #expect(Self.events(all).compactMap { $0["workspace_id"]?.int64Value } == [main, second, main])
        let listed = try client.request("GET", "/v1/events?workspaces=\(second)", headers: [owner.bearer])
        #expect(Self.events(listed).compactMap { $0["workspace_id"]?.int64Value } == [second])
        expectError(try client.request("GET", "/v1/events?workspaces=all", headers: [owner.bearer,
                                                                                     ("X-Workspace-ID", String(main))]),
                    400, "WORKSPACE_MISMATCH")
        let stranger = try client.signUp()
        expectError(try client.request("GET", "/v1/events?workspaces=\(main),\(stranger.mainWorkspaceID)",
                                       headers: [owner.bearer]), 403, "CROSS_TENANT_WORKSPACE")
    }

    @Test("Visibility follows the credential's rights: content:read for records, members:read for members")
    func visibilityByPermission() throws {
        let (server, client, owner) = try Self.oneEventOfEachFamily()
        defer { withExtendedLifetime(server) {} }
        let main = owner.mainWorkspaceID
        func types(_ permissions: [String]) throws -> [String] {
            let key = try client.createKey(owner, mode: "full", permissions: permissions)
            let response = try client.request("GET", "/v1/events", headers: [bearer(key.secret)])
            #expect(response.status == 200, "\(permissions): \(response.text)")
            return Self.events(response).compactMap { $0["type"]?.stringValue }
        }
        #expect(try types(["content:read"]) == ["record.created"])
        #expect(try types(["members:read"]) == ["member.added"])
        #expect(try types(["workspace:read"]) == ["workspace.updated"])
        #expect(try types(["webhooks:read"]).isEmpty)
        #expect(try types(["content:read", "members:read", "workspace:read"]).count == 3)
        // A workspace key sees its own workspace's events, whatever the header says.
        let other = try client.createWorkspace(owner, name: "Other")
        let bound = try client.createWorkspaceKey(owner, workspaceID: other)
        _ = try Admin.createRecord(client, owner.bearer, other, data: #"{"n":9}"#)
        let boundEvents = try client.request("GET", "/v1/events", headers: [bearer(bound.secret),
                                                                          ("X-Workspace-ID", String(main))])
        #expect(Self.events(boundEvents).compactMap { $0["workspace_id"]?.int64Value } == [other], "\(boundEvents.text)")
    }

    @Test("A position older than --event-retention is 410 CURSOR_EXPIRED, not a silent gap; a fresh list works")
    func retention() throws {
        let server = try TestServer(["--event-retention", "1"])
        let client = try server.client()
        let owner = try client.signUp()
        let main = owner.mainWorkspaceID
        for n in 0..<3 { _ = try Admin.createRecord(client, owner.bearer, main, data: #"{"n":\#(n)}"#) }
        let first = try client.request("GET", "/v1/events?limit=1", headers: [owner.bearer])
        let newest = try #require(Self.ids(first).first)
        let cursor = try #require(first.json["next_cursor"]?.stringValue)
        #expect(try client.request("GET", "/v1/events?after=\(newest - 2)", headers: [owner.bearer]).status == 200)
        // The purge runs every second at this retention; wait for it to take the three events.
        var expired = false
        for _ in 0..<40 where !expired {
            usleep(250_000)
            expired = try client.request("GET", "/v1/events", headers: [owner.bearer]).json["data"]?.arrayValue?
                .isEmpty == true
        }
        #expect(expired, "the purge did not run")
        _ = try Admin.createRecord(client, owner.bearer, main, data: #"{"n":4}"#)
        expectError(try client.request("GET", "/v1/events?after=evt_\(newest - 2)", headers: [owner.bearer]), 410,
                    "CURSOR_EXPIRED", "after a purged event")
        expectError(try client.request("GET", "/v1/events?cursor=\(cursor)", headers: [owner.bearer]), 410,
                    "CURSOR_EXPIRED", "a cursor below the first kept event")
        let fresh = try client.request("GET", "/v1/events", headers: [owner.bearer])
        #expect(fresh.status == 200 && Self.ids(fresh).count == 1, "\(fresh.text)")
        // After the newest purged event nothing was lost: that position is still good.
        #expect(try client.request("GET", "/v1/events?after=\(newest)", headers: [owner.bearer]).status == 200)
    }
}
