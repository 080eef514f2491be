import AtriumJSON
import Foundation
import Testing

/// `GET /v1/audit-log` (api.md §6): one entry per membership, role, invitation, key and
/// workspace change, in the workspace where it happened, newest first, cursor-paginated.
@Suite struct AuditLogTests {
    /// Tracks a workspace's log and checks what each change added.
    final class AuditWatcher {
        let client: HTTPTestClient
        let reader: (String, String)
        let workspaceID: Int64
        private(set) var known: Set<Int64>

        init(_ client: HTTPTestClient, reader: (String, String), workspaceID: Int64) throws {
            self.client = client
            self.reader = reader
            self.workspaceID = workspaceID
            known = Set(try Admin.auditEntries(client, reader, workspaceID).compactMap { $0["id"]?.int64Value })
        }

        /// The entries added since the last call (newest first).
        func added() throws -> [JSONValue] {
            let entries = try Admin.auditEntries(client, reader, workspaceID)
            let fresh = entries.filter { !known.contains($0["id"]?.int64Value ?? 0) }
            known.formUnion(fresh.compactMap { $0["id"]?.int64Value })
            return fresh
        }

        /// Checks that the last change added `count` entries (a range), the newest naming one of
        /// `nouns` in its action and carrying the given actor.
        func expectAdded(_ label: String, nouns: [String], actor: Int64, credential: String = "jwt", keyID: Int64? = nil,
                         count: ClosedRange<Int> = 1...1, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let fresh = try added()
            #expect(count.contains(fresh.count), "\(label): \(fresh.count) new entries: \(fresh)", sourceLocation: sourceLocation)
            guard let newest = fresh.first else { return }
            let action = newest["action"]?.stringValue ?? ""
            #expect(nouns.contains { action.contains($0) }, "\(label): action \(action) names none of \(nouns)",
                    sourceLocation: sourceLocation)
            for entry in fresh {
                #expect(entry["actor"]?["user_id"]?.int64Value == actor, "\(label): actor in \(entry)", sourceLocation: sourceLocation)
                #expect(entry["actor"]?["credential"]?.stringValue == credential, "\(label): credential in \(entry)",
                        sourceLocation: sourceLocation)
                #expect(entry["actor"]?["key_id"]?.int64Value == keyID, "\(label): key_id in \(entry)",
                        sourceLocation: sourceLocation)
            }
        }

        func expectNothingAdded(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let fresh = try added()
            #expect(fresh.isEmpty, "\(label) was audited: \(fresh)", sourceLocation: sourceLocation)
        }
    }

    static func expectEntryShape(_ entry: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(entry["id"]?.int64Value != nil, "id in \(entry)", sourceLocation: sourceLocation)
        #expect(entry["action"]?.stringValue?.isEmpty == false, "action in \(entry)", sourceLocation: sourceLocation)
        #expect(entry["actor"]?["user_id"]?.int64Value != nil, "actor.user_id in \(entry)", sourceLocation: sourceLocation)
        let credential = entry["actor"]?["credential"]?.stringValue
        #expect(credential == "jwt" || credential == "api_key", "actor.credential in \(entry)", sourceLocation: sourceLocation)
        if credential == "api_key" {
            #expect(entry["actor"]?["key_id"]?.int64Value != nil, "actor.key_id in \(entry)", sourceLocation: sourceLocation)
        } else {
            let keyID = entry["actor"]?["key_id"]
            #expect(keyID == nil || keyID == .null, "key_id without a key in \(entry)", sourceLocation: sourceLocation)
        }
        #expect(entry["target"] != nil, "target in \(entry)", sourceLocation: sourceLocation)
        #expect(entry["ip"]?.stringValue == "127.0.0.1", "ip in \(entry)", sourceLocation: sourceLocation)
        #expect(isTimestamp(entry["created_at"]), "created_at in \(entry)", sourceLocation: sourceLocation)
    }

    @Test("Every membership, role, invitation, key and workspace change adds one entry with its actor; failures and reads add none")
    func everyChangeIsAudited() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp(email: uniqueEmail("owner"))
        let id = try client.createWorkspace(owner, name: "Audited")
        let log = try AuditWatcher(client, reader: owner.bearer, workspaceID: id)

        _ = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: #"{"name":"Renamed"}"#)
        try log.expectAdded("PATCH workspace", nouns: ["workspace"], actor: owner.userID)

        let bob = try client.signUp(email: uniqueEmail("bob"))
        let toBob = try Admin.invite(client, owner, id, email: bob.email, role: "admin")
        try log.expectAdded("invite", nouns: ["invitation"], actor: owner.userID)
        let bobJoined = try Admin.accept(client, bob, token: toBob.json["token"]?.stringValue ?? "-")
        let bobMember = try #require(bobJoined.json["member"]?["id"]?.int64Value, "\(bobJoined.text)")
        try log.expectAdded("accept", nouns: ["invitation", "member"], actor: bob.userID, count: 1...2)

        let carol = uniqueEmail("carol")
        let toCarol = try Admin.invite(client, owner, id, email: carol, role: "viewer")
        try log.expectAdded("invite carol", nouns: ["invitation"], actor: owner.userID)
        let carolInvitation = try #require(toCarol.json["id"]?.int64Value)
        #expect(try client.request("POST", "/v1/workspaces/invitations/\(carolInvitation)/resend", headers: [owner.bearer])
            .status == 200)
        try log.expectAdded("resend", nouns: ["invitation"], actor: owner.userID)
        #expect(try client.request("DELETE", "/v1/workspaces/invitations/\(carolInvitation)", headers: [bob.bearer]).status == 204)
        try log.expectAdded("revoke", nouns: ["invitation"], actor: bob.userID)

        #expect(try Admin.changeRole(client, owner, id, memberID: bobMember, role: "editor").status == 200)
        try log.expectAdded("role change", nouns: ["role", "member"], actor: owner.userID)

        let key = try client.createWorkspaceKey(owner, workspaceID: id)
        try log.expectAdded("create key", nouns: ["key"], actor: owner.userID)
        #expect(try client.request("PUT", "/v1/workspaces/\(id)/api-keys/\(key.id)", headers: [owner.bearer],
                                   body: #"{"name":"renamed key"}"#).status == 200)
        try log.expectAdded("update key", nouns: ["key"], actor: owner.userID)
        let byKey = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [bearer(key.secret)], body: #"{"name":"By key"}"#)
        #expect(byKey.status == 200, "\(byKey.text)")
        try log.expectAdded("PATCH by workspace key", nouns: ["workspace"], actor: owner.userID, credential: "api_key",
                            keyID: key.id)
        let full = try client.createKey(owner, mode: "full")
        _ = try log.added()
        #expect(try client.request("PATCH", "/v1/workspaces/\(id)", headers: [bearer(full.secret)], body: #"{"name":"By full"}"#)
            .status == 200)
        try log.expectAdded("PATCH by full key", nouns: ["workspace"], actor: owner.userID, credential: "api_key", keyID: full.id)
        #expect(try client.request("DELETE", "/v1/workspaces/\(id)/api-keys/\(key.id)", headers: [owner.bearer]).status == 204)
        try log.expectAdded("revoke key", nouns: ["key"], actor: owner.userID)

        let (dave, daveMember) = try Admin.join(client, owner: owner, id, role: "viewer", tag: "dave")
        _ = try log.added()
        #expect(try Admin.removeMember(client, dave, id, memberID: daveMember).status == 204)
        try log.expectAdded("leave", nouns: ["member"], actor: dave.userID)
        #expect(try Admin.removeMember(client, owner, id, memberID: bobMember).status == 204)
        try log.expectAdded("remove", nouns: ["member"], actor: owner.userID)

        let (erin, _) = try Admin.join(client, owner: owner, id, role: "editor", tag: "erin")
        _ = try log.added()
        #expect(try client.request("POST", "/v1/workspaces/\(id)/transfer-ownership", headers: [owner.bearer],
                                   body: #"{"user_id":\#(erin.userID)}"#).status == 200)
        try log.expectAdded("transfer ownership", nouns: ["owner"], actor: owner.userID, count: 1...3)

        // Refused changes and reads write nothing.
        expectError(try Admin.invite(client, owner, id, email: erin.email, role: "viewer"), 409, "ALREADY_MEMBER")
        let erinMember = try Admin.memberID(client, owner.bearer, id, userID: erin.userID)
        expectError(try Admin.changeRole(client, owner, id, memberID: erinMember, role: "viewer"), 400,
                    "INVALID_ROLE_TRANSITION")
        expectError(try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: #"{"name":""}"#), 400,
                    "VALIDATION_FAILED")
        expectError(try client.request("DELETE", "/v1/workspaces/\(id)", headers: [owner.bearer]), 403, "PERMISSION_DENIED")
        _ = try Admin.workspace(client, owner.bearer, id)
        _ = try Admin.members(client, owner.bearer, id)
        try log.expectNothingAdded("refused changes and reads")

        // A change in another workspace stays in that workspace's log.
        _ = try client.request("PATCH", "/v1/workspaces/\(owner.mainWorkspaceID)", headers: [owner.bearer],
                               body: #"{"name":"Main renamed"}"#)
        try log.expectNothingAdded("a change in another workspace")
        let mainLog = try Admin.auditEntries(client, owner.bearer, owner.mainWorkspaceID)
        #expect(!mainLog.isEmpty, "the main workspace's change is not in its log")
        let mainLogIDs = Set(mainLog.compactMap { $0["id"]?.int64Value })
        #expect(mainLogIDs.isDisjoint(with: log.known), "logs of two workspaces overlap")

        // Shape and order of the whole log.
        let all = try Admin.auditEntries(client, owner.bearer, id)
        for entry in all { Self.expectEntryShape(entry) }
        let ids = all.compactMap { $0["id"]?.int64Value }
        #expect(ids == ids.sorted(by: >), "not newest first: \(ids)")
        #expect(Set(ids).count == ids.count)
        let dates = all.compactMap { Admin.date($0["created_at"]) }
        #expect(dates == dates.sorted(by: >=), "created_at not newest first")
    }

    @Test("Cursor pagination: every entry exactly once across pages, also while entries are added; bad cursor/limit → 400 INVALID_PARAMETER")
    func pagination() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        for n in 0..<25 {
            _ = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: #"{"name":"n\#(n)"}"#)
        }
        let firstPage = try Admin.auditPage(client, owner.bearer, id, query: "limit=100")
        #expect(firstPage.status == 200)
        #expect(firstPage.header("X-Workspace-ID") == String(id))
        let everything = (firstPage.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
        #expect(everything.count >= 25, "\(firstPage.text.prefix(300))")
        #expect(firstPage.json["next_cursor"] == .null, "next_cursor on the only page: \(firstPage.json["next_cursor"] ?? .null)")

        for limit in [1, 7, 25] {
            let paged = try Admin.auditEntries(client, owner.bearer, id, limit: limit).compactMap { $0["id"]?.int64Value }
            #expect(paged == everything, "limit \(limit): \(paged) vs \(everything)")
        }
        // The default limit is 20.
        let defaultPage = try Admin.auditPage(client, owner.bearer, id)
        #expect(defaultPage.json["data"]?.arrayValue?.count == 20)
        #expect(defaultPage.json["next_cursor"]?.stringValue != nil)

        // Entries added between pages do not shift the pages behind the cursor.
        let page1 = try Admin.auditPage(client, owner.bearer, id, query: "limit=5")
        var seen = (page1.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
        for n in 0..<3 {
            _ = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: #"{"name":"late\#(n)"}"#)
        }
        var cursor = page1.json["next_cursor"]?.stringValue
        while let current = cursor {
            let page = try Admin.auditPage(client, owner.bearer, id, query: "limit=5&cursor=\(current)")
            #expect(page.status == 200, "\(page.text)")
            seen += (page.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
            cursor = page.json["next_cursor"]?.stringValue
            if seen.count > 1000 { break }
        }
        #expect(seen == everything, "pagination while writing: \(seen) vs \(everything)")

        for query in ["cursor=garbage", "cursor=%25%25%25", "cursor=YWJj", "cursor=!!", "limit=0", "limit=101", "limit=-1",
                      "limit=abc", "limit=1.5", "limit=", "limit=5&cursor=zz"] {
            expectError(try Admin.auditPage(client, owner.bearer, id, query: query), 400, "INVALID_PARAMETER", query)
        }
        #expect(try Admin.auditPage(client, owner.bearer, id, query: "limit=100").status == 200)
        #expect(try Admin.auditPage(client, owner.bearer, id, query: "limit=1").json["data"]?.arrayValue?.count == 1)
    }

    @Test("audit:read: owner and admin 200; editor and viewer 403 PERMISSION_DENIED; non-member 403 CROSS_TENANT_WORKSPACE")
    func permissions() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (admin, _) = try Admin.join(client, owner: owner, id, role: "admin", tag: "admin")
        let (editor, _) = try Admin.join(client, owner: owner, id, role: "editor", tag: "editor")
        let (viewer, _) = try Admin.join(client, owner: owner, id, role: "viewer", tag: "viewer")
        let stranger = try client.signUp(email: uniqueEmail("stranger"))

        #expect(try Admin.auditPage(client, owner.bearer, id).status == 200)
        let byAdmin = try Admin.auditPage(client, admin.bearer, id)
        #expect(byAdmin.status == 200)
        #expect((byAdmin.json["data"]?.arrayValue?.count ?? 0) >= 6, "three invitations and three accepts: \(byAdmin.text)")
        expectError(try Admin.auditPage(client, editor.bearer, id), 403, "PERMISSION_DENIED", "editor")
        expectError(try Admin.auditPage(client, viewer.bearer, id), 403, "PERMISSION_DENIED", "viewer")
        expectError(try Admin.auditPage(client, stranger.bearer, id), 403, "CROSS_TENANT_WORKSPACE", "stranger")
        let editorKey = try client.createKey(editor, mode: "full")
        expectError(try Admin.auditPage(client, bearer(editorKey.secret), id), 403, "PERMISSION_DENIED", "editor's key")
        let narrowed = try client.createKey(admin, mode: "full", permissions: ["content:read"])
        expectError(try Admin.auditPage(client, bearer(narrowed.secret), id), 403, "PERMISSION_DENIED",
                    "admin's key without audit:read")
        let bound = try client.createWorkspaceKey(owner, workspaceID: id)
        let byBound = try client.request("GET", "/v1/audit-log", headers: [bearer(bound.secret)])
        #expect(byBound.status == 200 && byBound.header("X-Workspace-ID") == String(id), "\(byBound.text)")

        // Without a header: the caller's main workspace, which holds none of this workspace's entries.
        let mainLog = try client.request("GET", "/v1/audit-log", headers: [owner.bearer])
        #expect(mainLog.status == 200)
        #expect(mainLog.header("X-Workspace-ID") == String(owner.mainWorkspaceID))
        let workspaceIDs = Set(try Admin.auditEntries(client, owner.bearer, id).compactMap { $0["id"]?.int64Value })
        let mainIDs = Set((mainLog.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value })
        #expect(mainIDs.isDisjoint(with: workspaceIDs))
    }
}
