import AtriumJSON
import Foundation
import Testing

/// Workspaces, members and ownership over real sockets (api.md §5).
@Suite struct WorkspaceAdminTests {
    // MARK: Creating and reading

    @Test("POST /v1/workspaces: 201 with Location and the workspace object; caller is owner")
    func createWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let response = try client.request("POST", "/v1/workspaces", headers: [owner.bearer],
                                          body: ##"{"name":"Team Blue","color":"#A1b2C3","metadata":{"crm":"acct-7","n":[1,2]}}"##)
        #expect(response.status == 201, "\(response.text)")
        let id = try #require(response.json["id"]?.int64Value, "\(response.text)")
        #expect(response.header("Location")?.hasSuffix("/v1/workspaces/\(id)") == true,
                "Location \(response.header("Location") ?? "-")")
        Admin.expectWorkspaceShape(response.json, "created")
        #expect(response.json["name"]?.stringValue == "Team Blue")
        #expect(response.json["color"]?.stringValue?.uppercased() == "#A1B2C3")
        #expect(response.json["owner_id"]?.int64Value == owner.userID)
        #expect(response.json["role"]?.stringValue == "owner")
        #expect(response.json["is_main"]?.boolValue == false)
        #expect(response.json["metadata"]?["crm"]?.stringValue == "acct-7")

        let fetched = try Admin.workspace(client, owner.bearer, id)
        #expect(fetched.status == 200)
        #expect(fetched.json == response.json, "GET differs from the 201 body: \(fetched.text) vs \(response.text)")
        #expect(try client.workspaceIDs(owner).contains(id))
        let members = try Admin.members(client, owner.bearer, id)
        #expect(members.count == 1)
        #expect(members.first?["user_id"]?.int64Value == owner.userID && members.first?["role"]?.stringValue == "owner")

        // Fields a client may not set are never taken from a body.
        let other = try client.signUp(email: uniqueEmail("other"))
        let sneaky = try client.request("POST", "/v1/workspaces", headers: [owner.bearer],
                                        body: #"{"name":"Sneaky","id":1,"owner_id":\#(other.userID),"role":"viewer","is_main":true,"workspace_id":1}"#)
        #expect(sneaky.status == 201, "\(sneaky.text)")
        let sneakyID = try #require(sneaky.json["id"]?.int64Value)
        #expect(sneaky.json["owner_id"]?.int64Value == owner.userID && sneaky.json["role"]?.stringValue == "owner"
                    && sneaky.json["is_main"]?.boolValue == false, "\(sneaky.text)")
        #expect(try !client.workspaceIDs(other).contains(sneakyID))
        let patchedSneaky = try client.request("PATCH", "/v1/workspaces/\(sneakyID)", headers: [owner.bearer],
                                               body: #"{"owner_id":\#(other.userID),"id":1,"role":"viewer"}"#)
        #expect(patchedSneaky.status == 200 && patchedSneaky.json["owner_id"]?.int64Value == owner.userID
                    && patchedSneaky.json["id"]?.int64Value == sneakyID, "\(patchedSneaky.text)")
        #expect(try Admin.roles(client, owner.bearer, sneakyID) == [owner.userID: "owner"])

        // Boundaries that must be accepted: 100 characters, null color, no metadata, ~4000 bytes of metadata.
        let long = String(repeating: "n", count: 100)
        let bigValue = String(repeating: "m", count: 3900)
        for body in [#"{"name":"\#(long)"}"#, #"{"name":"x","color":null}"#, #"{"name":"x","metadata":{"blob":"\#(bigValue)"}}"#] {
            let accepted = try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: body)
            #expect(accepted.status == 201, "\(body.prefix(60)) → \(accepted.status) \(accepted.text.prefix(200))")
        }
        let withoutColor = try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: #"{"name":"plain"}"#)
        #expect(withoutColor.json["color"] == .null, "color defaults to null: \(withoutColor.text)")
        #expect(withoutColor.json["metadata"]?.objectValue?.isEmpty == true, "metadata defaults to {}: \(withoutColor.text)")
    }

    static let invalidCreateBodies: [(label: String, body: String)] = [
        ("empty name", #"{"name":""}"#),
        ("name of 101 characters", #"{"name":"\#(String(repeating: "a", count: 101))"}"#),
        ("name missing", ##"{"color":"#000000"}"##),
        ("name a number", #"{"name":7}"#),
        ("name null", #"{"name":null}"#),
        ("color a word", #"{"name":"x","color":"red"}"#),
        ("color too short", ##"{"name":"x","color":"#12345"}"##),
        ("color too long", ##"{"name":"x","color":"#1234567"}"##),
        ("color not hex", ##"{"name":"x","color":"#GGGGGG"}"##),
        ("color without #", #"{"name":"x","color":"123456"}"#),
        ("color a number", #"{"name":"x","color":123456}"#),
        ("metadata an array", #"{"name":"x","metadata":[1]}"#),
        ("metadata a string", #"{"name":"x","metadata":"{}"}"#),
        ("metadata over 4 KiB", #"{"name":"x","metadata":{"blob":"\#(String(repeating: "z", count: 4200))"}}"#),
    ]

    @Test("POST /v1/workspaces with a bad name, color or metadata: 400 VALIDATION_FAILED, nothing created")
    func createWorkspaceValidation() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let before = try client.workspaceIDs(owner)
        for (label, body) in Self.invalidCreateBodies {
            let response = try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: body)
            expectError(response, 400, "VALIDATION_FAILED", label)
        }
        #expect(try client.workspaceIDs(owner) == before, "a rejected create left a workspace behind")
        // The wrong shape of body entirely.
        expectError(try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: "[1]"), 400, "INVALID_JSON")
        // Session only.
        let key = try client.createKey(owner, mode: "full")
        expectError(try client.request("POST", "/v1/workspaces", headers: [bearer(key.secret)], body: #"{"name":"k"}"#),
                    403, "SESSION_REQUIRED")
        #expect(try client.workspaceIDs(owner) == before)
    }

    @Test("PATCH /v1/workspaces/{id}: 200 with the change; a bad value is 400 VALIDATION_FAILED and changes nothing")
    func patchWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner, name: "Before")
        let patched = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer],
                                         body: ##"{"name":"After","color":"#00ff00","metadata":{"k":"v"}}"##)
        #expect(patched.status == 200, "\(patched.text)")
        Admin.expectWorkspaceShape(patched.json, "patched")
        #expect(patched.json["name"]?.stringValue == "After")
        #expect(patched.json["color"]?.stringValue?.uppercased() == "#00FF00")
        #expect(patched.json["metadata"]?["k"]?.stringValue == "v")
        #expect(patched.json["id"]?.int64Value == id && patched.json["owner_id"]?.int64Value == owner.userID)

        // A field left out stays as it was; color null clears it.
        let cleared = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: #"{"color":null}"#)
        #expect(cleared.status == 200, "\(cleared.text)")
        #expect(cleared.json["color"] == .null)
        #expect(cleared.json["name"]?.stringValue == "After")
        #expect(cleared.json["metadata"]?["k"]?.stringValue == "v")

        let snapshot = try Admin.workspace(client, owner.bearer, id).json
        for (label, body) in [("empty name", #"{"name":""}"#),
                              ("long name", #"{"name":"\#(String(repeating: "b", count: 101))"}"#),
                              ("bad color", #"{"name":"Changed","color":"blue"}"#),
                              ("metadata array", #"{"name":"Changed","metadata":[]}"#),
                              ("metadata over 4 KiB", #"{"metadata":{"x":"\#(String(repeating: "q", count: 4200))"}}"#)] {
            let response = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: body)
            expectError(response, 400, "VALIDATION_FAILED", label)
        }
        let after = try Admin.workspace(client, owner.bearer, id).json
        #expect(after == snapshot, "a rejected PATCH changed the workspace: \(after) vs \(snapshot)")
    }

    @Test("Workspace path ids: malformed → 400 INVALID_WORKSPACE_ID, unreachable → 403 CROSS_TENANT_WORKSPACE, on every §5 route")
    func workspacePathIDs() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let stranger = try client.signUp(email: uniqueEmail("stranger"))
        let theirs = try client.createWorkspace(stranger, name: "Theirs")
        let routes: [(String, String, String?)] = [
            ("GET", "", nil), ("PATCH", "", #"{"name":"x"}"#), ("DELETE", "", nil), ("GET", "/members", nil),
            ("POST", "/members/invite", #"{"email":"x@example.com","role":"viewer"}"#),
            ("POST", "/transfer-ownership", #"{"user_id":1}"#), ("GET", "/api-keys", nil),
            ("POST", "/api-keys", #"{"name":"x"}"#), ("GET", "/usage", nil), ("GET", "/billing", nil),
        ]
        for (method, suffix, body) in routes {
            for bad in ["0", "-1", "007", "abc", "1.0", "1e3", "99999999999999999999"] {
                expectError(try client.request(method, "/v1/workspaces/\(bad)\(suffix)", headers: [owner.bearer], body: body), 400,
                            "INVALID_WORKSPACE_ID", "\(method) /v1/workspaces/\(bad)\(suffix)")
            }
            let foreign = try client.request(method, "/v1/workspaces/\(theirs)\(suffix)", headers: [owner.bearer], body: body)
            let missing = try client.request(method, "/v1/workspaces/\(theirs + 1000)\(suffix)", headers: [owner.bearer], body: body)
            expectError(foreign, 403, "CROSS_TENANT_WORKSPACE", "\(method) someone else's\(suffix)")
            expectError(missing, 403, "CROSS_TENANT_WORKSPACE", "\(method) a missing one\(suffix)")
            #expect(foreign.json["error"]?["message"] == missing.json["error"]?["message"],
                    "the answer tells existing from missing workspaces")
        }
        #expect(try Admin.workspace(client, stranger.bearer, theirs).json["name"]?.stringValue == "Theirs")
        #expect(try Admin.roles(client, stranger.bearer, theirs) == [stranger.userID: "owner"])
    }

    // MARK: Deleting

    @Test("DELETE /v1/workspaces/{id} needs a session: an API key gets 403 SESSION_REQUIRED and nothing is deleted")
    func deleteNeedsSession() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let key = try client.createKey(owner, mode: "full")
        expectError(try client.request("DELETE", "/v1/workspaces/\(id)", headers: [bearer(key.secret)]), 403, "SESSION_REQUIRED")
        let bound = try client.createWorkspaceKey(owner, workspaceID: id)
        expectError(try client.request("DELETE", "/v1/workspaces/\(id)", headers: [bearer(bound.secret)]), 403,
                    "SESSION_REQUIRED")
        #expect(try Admin.workspace(client, owner.bearer, id).status == 200)
    }

    @Test("DELETE of a main workspace: 409 MAIN_WORKSPACE; once another is main, the old one can go")
    func deleteMainWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        expectError(try client.request("DELETE", "/v1/workspaces/\(owner.mainWorkspaceID)", headers: [owner.bearer]), 409,
                    "MAIN_WORKSPACE")
        #expect(try Admin.workspace(client, owner.bearer, owner.mainWorkspaceID).status == 200)

        let second = try client.createWorkspace(owner, name: "Second")
        let moved = try client.request("PATCH", "/v1/me", headers: [owner.bearer], body: #"{"main_workspace_id":\#(second)}"#)
        #expect(moved.status == 200, "\(moved.text)")
        expectError(try client.request("DELETE", "/v1/workspaces/\(second)", headers: [owner.bearer]), 409, "MAIN_WORKSPACE")
        #expect(try Admin.workspace(client, owner.bearer, second).status == 200)
        let deleted = try client.request("DELETE", "/v1/workspaces/\(owner.mainWorkspaceID)", headers: [owner.bearer])
        #expect(deleted.status == 204, "\(deleted.text)")
        #expect(deleted.body.isEmpty)
    }

    @Test("A deleted workspace: every route 403 CROSS_TENANT_WORKSPACE, its keys 401, its records and invitations gone")
    func deletedWorkspaceIsGone() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner, name: "Doomed")
        let (member, _) = try Admin.join(client, owner: owner, id, role: "editor")
        let invitee = try client.signUp(email: uniqueEmail("invitee"))
        let invitation = try Admin.invite(client, owner, id, email: invitee.email, role: "viewer")
        let invitationToken = try #require(invitation.json["token"]?.stringValue, "\(invitation.text)")
        let invitationID = try #require(invitation.json["id"]?.int64Value)
        var recordIDs: [Int64] = []
        for n in 0..<3 {
            let record = try Admin.createRecord(client, owner.bearer, id, data: #"{"doomed":\#(n)}"#)
            recordIDs.append(try #require(record.json["id"]?.int64Value, "\(record.text)"))
        }
        let bound = try client.createWorkspaceKey(owner, workspaceID: id)
        #expect(try client.request("GET", recordsPath, headers: [bearer(bound.secret)]).status == 200)
        let full = try client.createKey(owner, mode: "full")
        let accountBefore = try client.request("GET", "/v1/account", headers: [owner.bearer])

        let deleted = try client.request("DELETE", "/v1/workspaces/\(id)", headers: [owner.bearer])
        #expect(deleted.status == 204, "\(deleted.text)")

        let scoped: [(String, String, String?)] = [
            ("GET", "/v1/workspaces/\(id)", nil),
            ("PATCH", "/v1/workspaces/\(id)", #"{"name":"zombie"}"#),
            ("DELETE", "/v1/workspaces/\(id)", nil),
            ("GET", "/v1/workspaces/\(id)/members", nil),
            ("POST", "/v1/workspaces/\(id)/members/invite", #"{"email":"late@example.com","role":"viewer"}"#),
            ("POST", "/v1/workspaces/\(id)/transfer-ownership", #"{"user_id":\#(member.userID)}"#),
            ("GET", "/v1/workspaces/\(id)/api-keys", nil),
            ("POST", "/v1/workspaces/\(id)/api-keys", #"{"name":"late"}"#),
            ("GET", "/v1/workspaces/\(id)/usage", nil),
            ("GET", "/v1/workspaces/\(id)/billing", nil),
        ]
        for (method, path, body) in scoped {
            expectError(try client.request(method, path, headers: [owner.bearer], body: body), 403, "CROSS_TENANT_WORKSPACE",
                        "owner \(method) \(path)")
            expectError(try client.request(method, path, headers: [member.bearer], body: body), 403,
                        "CROSS_TENANT_WORKSPACE", "member \(method) \(path)")
        }
        let header = ("X-Workspace-ID", String(id))
        for path in [recordsPath, "/v1/audit-log"] {
            expectError(try client.request("GET", path, headers: [owner.bearer, header]), 403, "CROSS_TENANT_WORKSPACE",
                        "owner GET \(path)")
            expectError(try client.request("GET", path, headers: [bearer(full.secret), header]), 403, "CROSS_TENANT_WORKSPACE",
                        "full key GET \(path)")
        }
        expectError(try client.request("POST", recordsPath, headers: [owner.bearer, header], body: #"{"data":{}}"#), 403,
                    "CROSS_TENANT_WORKSPACE", "create record")
        // Its workspace key is revoked.
        expectError(try client.request("GET", recordsPath, headers: [bearer(bound.secret)]), 401, "INVALID_TOKEN", "bound key")
        expectError(try client.me(bound.secret), 401, "INVALID_TOKEN", "bound key /v1/me")
        // Its records are gone.
        for recordID in recordIDs {
            expectError(try client.request("GET", "/v1/records/\(recordID)", headers: [owner.bearer]), 404, "NOT_FOUND",
                        "record \(recordID)")
        }
        let fanOut = try client.request("GET", recordsPath + "?workspaces=all&limit=100", headers: [owner.bearer])
        #expect(fanOut.status == 200)
        #expect(!fanOut.text.contains("doomed"), "deleted records in a fan-out: \(fanOut.text)")
        let accountAfter = try client.request("GET", "/v1/account", headers: [owner.bearer])
        if let before = accountBefore.json["usage"]?["records"]?.int64Value {
            #expect(accountAfter.json["usage"]?["records"]?.int64Value == before - 3, "\(accountAfter.text)")
        }
        // It is listed nowhere.
        #expect(try !client.workspaceIDs(owner).contains(id))
        #expect(try !client.workspaceIDs(member).contains(id))
        let listed = try client.request("GET", "/v1/workspaces", headers: [member.bearer])
        #expect(!(listed.json["data"]?.arrayValue ?? []).contains { $0["id"]?.int64Value == id })
        // Its invitations are gone.
        #expect(try Admin.pending(client, invitee).isEmpty, "a deleted workspace's invitation is still pending")
        let accepted = try Admin.accept(client, invitee, token: invitationToken)
        #expect(accepted.status == 404 || accepted.status == 409, "accepting into a deleted workspace: \(accepted.text)")
        #expect(accepted.status != 200)
        let resent = try client.request("POST", "/v1/workspaces/invitations/\(invitationID)/resend", headers: [owner.bearer])
        #expect(resent.status != 200, "resend into a deleted workspace: \(resent.text)")
        // The answer for a deleted workspace is the answer for one that never existed.
        let never = try client.request("GET", "/v1/workspaces/\(id + 100_000)", headers: [owner.bearer])
        let gone = try client.request("GET", "/v1/workspaces/\(id)", headers: [owner.bearer])
        #expect(never.status == gone.status && never.errorCode == gone.errorCode
                    && never.json["error"]?["message"] == gone.json["error"]?["message"])
    }

    // MARK: Workspace keys

    @Test("Workspace keys: create (secret once), list without secrets, PUT, DELETE; other workspaces' key ids → 404")
    func workspaceKeys() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner, name: "Keyed")
        let other = try client.createWorkspace(owner, name: "Other")
        let full = try client.createKey(owner, mode: "full")
        let path = "/v1/workspaces/\(id)/api-keys"

        let created = try client.request("POST", path, headers: [owner.bearer], body: #"{"name":"gateway"}"#)
        #expect(created.status == 201, "\(created.text)")
        let keyID = try #require(created.json["id"]?.int64Value)
        let secret = try #require(created.json["secret"]?.stringValue)
        #expect(secret.hasPrefix("atr_") && secret.count >= 36, "secret \(secret)")
        #expect(created.header("Location")?.hasSuffix("/\(keyID)") == true, "Location \(created.header("Location") ?? "-")")
        #expect(created.json["mode"]?.stringValue == "workspace")
        #expect(created.json["workspace_id"]?.int64Value == id)
        #expect(created.json["name"]?.stringValue == "gateway")
        #expect(created.json["prefix"]?.stringValue == String(secret.prefix(12)))
        #expect(created.json["created_by"]?.int64Value == owner.userID)
        #expect(isTimestamp(created.json["created_at"]))
        #expect(created.json["permissions"] != nil && created.json["last_used_at"] != nil && created.json["expires_at"] != nil,
                "key object fields: \(created.text)")
        // The key reaches its workspace whatever the header says.
        let used = try client.request("GET", recordsPath, headers: [bearer(secret), ("X-Workspace-ID", String(other))])
        #expect(used.status == 200 && used.header("X-Workspace-ID") == String(id), "\(used.text)")

        let listed = try client.request("GET", path, headers: [owner.bearer])
        #expect(listed.status == 200)
        let keys = listed.json["data"]?.arrayValue ?? []
        #expect(keys.map { $0["id"]?.int64Value } == [keyID], "only this workspace's workspace-mode keys: \(listed.text)")
        #expect(!listed.text.contains(secret) && keys.first?["secret"] == nil, "a secret in the list")
        #expect(!keys.contains { $0["id"]?.int64Value == full.id })
        let otherList = try client.request("GET", "/v1/workspaces/\(other)/api-keys", headers: [owner.bearer])
        #expect(otherList.json["data"]?.arrayValue?.isEmpty == true, "\(otherList.text)")

        let updated = try client.request("PUT", "\(path)/\(keyID)", headers: [owner.bearer],
                                         body: #"{"name":"reader","permissions":["content:read"]}"#)
        #expect(updated.status == 200, "\(updated.text)")
        #expect(updated.json["name"]?.stringValue == "reader" && updated.json["secret"] == nil)
        #expect(updated.json["permissions"]?.arrayValue?.compactMap(\.stringValue) == ["content:read"], "\(updated.text)")
        #expect(try client.request("GET", recordsPath, headers: [bearer(secret)]).status == 200)
        expectError(try client.request("POST", recordsPath, headers: [bearer(secret)], body: #"{"data":{}}"#), 403,
                    "PERMISSION_DENIED", "narrowed key writes")
        for (label, body) in [("name missing", #"{"permissions":["content:read"]}"#),
                              ("unknown permission", #"{"name":"x","permissions":["root"]}"#),
                              ("permissions not a list", #"{"name":"x","permissions":"content:read"}"#)] {
            expectError(try client.request("PUT", "\(path)/\(keyID)", headers: [owner.bearer], body: body), 400,
                        "VALIDATION_FAILED", label)
            expectError(try client.request("POST", path, headers: [owner.bearer], body: body), 400, "VALIDATION_FAILED",
                        "create, \(label)")
        }
        let afterBad = try client.request("GET", path, headers: [owner.bearer])
        #expect((afterBad.json["data"]?.arrayValue ?? []).map { $0["name"]?.stringValue } == ["reader"], "\(afterBad.text)")

        // Addressed through another workspace: not found there, untouched here.
        expectError(try client.request("PUT", "/v1/workspaces/\(other)/api-keys/\(keyID)", headers: [owner.bearer],
                                       body: #"{"name":"hijack"}"#), 404, "NOT_FOUND", "PUT via other workspace")
        expectError(try client.request("DELETE", "/v1/workspaces/\(other)/api-keys/\(keyID)", headers: [owner.bearer]), 404,
                    "NOT_FOUND", "DELETE via other workspace")
        expectError(try client.request("DELETE", "\(path)/\(full.id)", headers: [owner.bearer]), 404, "NOT_FOUND",
                    "an account key through the workspace route")
        #expect(try client.request("GET", recordsPath, headers: [bearer(full.secret)]).status == 200)
        #expect(try client.request("GET", recordsPath, headers: [bearer(secret)]).status == 200)
        // Session only.
        expectError(try client.request("POST", path, headers: [bearer(full.secret)], body: #"{"name":"k"}"#), 403,
                    "SESSION_REQUIRED")
        expectError(try client.request("GET", path, headers: [bearer(secret)]), 403, "SESSION_REQUIRED")

        let deleted = try client.request("DELETE", "\(path)/\(keyID)", headers: [owner.bearer])
        #expect(deleted.status == 204, "\(deleted.text)")
        expectError(try client.request("GET", recordsPath, headers: [bearer(secret)]), 401, "INVALID_TOKEN", "deleted key")
        #expect(try client.request("GET", path, headers: [owner.bearer]).json["data"]?.arrayValue?.isEmpty == true)
        expectError(try client.request("DELETE", "\(path)/\(keyID)", headers: [owner.bearer]), 404, "NOT_FOUND", "twice")
    }

    // MARK: Members

    @Test("Invite → accept by a second user: member list {data:[{id,user_id,email,name,role,joined_at}]}")
    func inviteAcceptAndMemberList() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp(name: "Olivia Owner")
        let id = try client.createWorkspace(owner, name: "Shared")
        let guest = try client.signUp(email: uniqueEmail("guest"), name: "Gus Guest")
        expectError(try client.request("GET", "/v1/workspaces/\(id)", headers: [guest.bearer]), 403, "CROSS_TENANT_WORKSPACE",
                    "before joining")
        let invitation = try Admin.invite(client, owner, id, email: guest.email, role: "editor")
        #expect(invitation.status == 201, "\(invitation.text)")
        let token = try #require(invitation.json["token"]?.stringValue)
        let accepted = try Admin.accept(client, guest, token: token)
        #expect(accepted.status == 200, "\(accepted.text)")
        Admin.expectWorkspaceShape(accepted.json["workspace"] ?? .null, "accept.workspace")
        #expect(accepted.json["workspace"]?["id"]?.int64Value == id)
        #expect(accepted.json["workspace"]?["role"]?.stringValue == "editor")
        #expect(accepted.json["workspace"]?["is_main"]?.boolValue == false)
        Admin.expectMemberShape(accepted.json["member"] ?? .null, "accept.member")
        #expect(accepted.json["member"]?["user_id"]?.int64Value == guest.userID)
        #expect(accepted.json["member"]?["role"]?.stringValue == "editor")

        for viewer in [owner, guest] {
            let response = try client.request("GET", "/v1/workspaces/\(id)/members", headers: [viewer.bearer])
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("X-Workspace-ID") == String(id), "scoped responses carry X-Workspace-ID")
            let data = try #require(response.json["data"]?.arrayValue, "\(response.text)")
            #expect(data.count == 2)
            for member in data { Admin.expectMemberShape(member, "member") }
            let byUser = Dictionary(data.map { ($0["user_id"]?.int64Value ?? 0, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byUser[owner.userID]?["role"]?.stringValue == "owner")
            #expect(byUser[owner.userID]?["email"]?.stringValue == owner.email)
            #expect(byUser[owner.userID]?["name"]?.stringValue == "Olivia Owner")
            #expect(byUser[guest.userID]?["role"]?.stringValue == "editor")
            #expect(byUser[guest.userID]?["email"]?.stringValue == guest.email)
            #expect(byUser[guest.userID]?["name"]?.stringValue == "Gus Guest")
            #expect(byUser[guest.userID]?["id"]?.int64Value == accepted.json["member"]?["id"]?.int64Value)
        }
        // The guest now reaches the workspace.
        #expect(try Admin.workspace(client, guest.bearer, id).json["role"]?.stringValue == "editor")
        #expect(try client.workspaceIDs(guest).contains(id))
        #expect(try Admin.createRecord(client, guest.bearer, id).status == 201)

        // Removed, then invited again: joins again.
        let guestMember = try #require(accepted.json["member"]?["id"]?.int64Value)
        #expect(try Admin.removeMember(client, owner, id, memberID: guestMember).status == 204)
        let again = try Admin.invite(client, owner, id, email: guest.email, role: "viewer")
        #expect(again.status == 201, "re-invite after removal: \(again.text)")
        let rejoined = try Admin.accept(client, guest, token: again.json["token"]?.stringValue ?? "-")
        #expect(rejoined.status == 200, "\(rejoined.text)")
        #expect(try Admin.roles(client, owner.bearer, id)[guest.userID] == "viewer")
    }

    @Test("PATCH member role: 200 with the member; the new role shows in the list")
    func changeRole() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (member, memberID) = try Admin.join(client, owner: owner, id, role: "editor")
        let (admin, _) = try Admin.join(client, owner: owner, id, role: "admin")
        let changed = try Admin.changeRole(client, owner, id, memberID: memberID, role: "viewer")
        #expect(changed.status == 200, "\(changed.text)")
        Admin.expectMemberShape(changed.json, "changed")
        #expect(changed.json["role"]?.stringValue == "viewer" && changed.json["id"]?.int64Value == memberID)
        #expect(try Admin.roles(client, owner.bearer, id)[member.userID] == "viewer")
        // An admin may change another member's role too.
        let byAdmin = try Admin.changeRole(client, admin, id, memberID: memberID, role: "admin")
        #expect(byAdmin.status == 200, "\(byAdmin.text)")
        #expect(try Admin.roles(client, owner.bearer, id)[member.userID] == "admin")
        // Session only.
        let key = try client.createKey(owner, mode: "full")
        expectError(try client.request("PATCH", "/v1/workspaces/\(id)/members/\(memberID)", headers: [bearer(key.secret)],
                                       body: #"{"role":"viewer"}"#), 403, "SESSION_REQUIRED")
        #expect(try Admin.roles(client, owner.bearer, id)[member.userID] == "admin")
        // A member id of another workspace is not found here.
        let otherID = try client.createWorkspace(owner, name: "Elsewhere")
        let (_, elsewhereMemberID) = try Admin.join(client, owner: owner, otherID, role: "editor")
        expectError(try Admin.changeRole(client, owner, id, memberID: elsewhereMemberID, role: "viewer"), 404, "NOT_FOUND",
                    "member of another workspace")
        expectError(try Admin.removeMember(client, owner, id, memberID: elsewhereMemberID), 404, "NOT_FOUND",
                    "remove a member of another workspace")
        #expect(try Admin.members(client, owner.bearer, otherID).count == 2)
        expectError(try client.request("PATCH", "/v1/workspaces/\(id)/members/abc", headers: [owner.bearer],
                                       body: #"{"role":"viewer"}"#), 400, "INVALID_PARAMETER", "member id not a number")
        // Unknown member id in this workspace.
        expectError(try Admin.changeRole(client, owner, id, memberID: memberID + 10_000, role: "viewer"), 404, "NOT_FOUND")
    }

    @Test("Role transitions that are refused: to owner, of the owner, an admin's own → 400 INVALID_ROLE_TRANSITION; unknown role → 400 VALIDATION_FAILED")
    func refusedRoleTransitions() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (member, memberID) = try Admin.join(client, owner: owner, id, role: "editor")
        let (admin, adminMemberID) = try Admin.join(client, owner: owner, id, role: "admin")
        let ownerMemberID = try Admin.memberID(client, owner.bearer, id, userID: owner.userID)
        let before = try Admin.roles(client, owner.bearer, id)

        expectError(try Admin.changeRole(client, owner, id, memberID: memberID, role: "owner"), 400, "INVALID_ROLE_TRANSITION",
                    "owner makes someone owner")
        expectError(try Admin.changeRole(client, admin, id, memberID: memberID, role: "owner"), 400, "INVALID_ROLE_TRANSITION",
                    "admin makes someone owner")
        expectError(try Admin.changeRole(client, owner, id, memberID: ownerMemberID, role: "admin"), 400,
                    "INVALID_ROLE_TRANSITION", "owner demotes themself")
        expectError(try Admin.changeRole(client, admin, id, memberID: ownerMemberID, role: "viewer"), 400,
                    "INVALID_ROLE_TRANSITION", "admin demotes the owner")
        expectError(try Admin.changeRole(client, admin, id, memberID: adminMemberID, role: "editor"), 400,
                    "INVALID_ROLE_TRANSITION", "admin changes own role")
        for (label, body) in [("unknown role", #"{"role":"superuser"}"#), ("role upper case", #"{"role":"ADMIN"}"#),
                              ("role missing", "{}"), ("role a number", #"{"role":3}"#), ("role null", #"{"role":null}"#)] {
            let response = try client.request("PATCH", "/v1/workspaces/\(id)/members/\(memberID)", headers: [owner.bearer],
                                              body: body)
            expectError(response, 400, "VALIDATION_FAILED", label)
        }
        #expect(try Admin.roles(client, owner.bearer, id) == before, "a refused transition changed a role")
        _ = member
    }

    @Test("DELETE member: owner removes a member (204); the owner cannot be removed or leave (400 INVALID_ROLE_TRANSITION)")
    func removeMembers() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (member, memberID) = try Admin.join(client, owner: owner, id, role: "editor")
        let (admin, _) = try Admin.join(client, owner: owner, id, role: "admin")
        let ownerMemberID = try Admin.memberID(client, owner.bearer, id, userID: owner.userID)

        expectError(try Admin.removeMember(client, admin, id, memberID: ownerMemberID), 400, "INVALID_ROLE_TRANSITION",
                    "admin removes the owner")
        expectError(try Admin.removeMember(client, owner, id, memberID: ownerMemberID), 400, "INVALID_ROLE_TRANSITION",
                    "owner leaves")
        #expect(try Admin.roles(client, owner.bearer, id)[owner.userID] == "owner")

        let removed = try Admin.removeMember(client, owner, id, memberID: memberID)
        #expect(removed.status == 204, "\(removed.text)")
        #expect(removed.body.isEmpty)
        #expect(try Admin.roles(client, owner.bearer, id)[member.userID] == nil)
        expectError(try Admin.workspace(client, member.bearer, id), 403, "CROSS_TENANT_WORKSPACE", "removed member")
        expectError(try Admin.removeMember(client, owner, id, memberID: memberID), 404, "NOT_FOUND", "removed twice")
        #expect(try !client.workspaceIDs(member).contains(id))
    }

    @Test("A viewer may leave without members:remove, but removing someone else is 403 PERMISSION_DENIED")
    func leavingAndRemovingAsViewer() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (viewer, viewerMemberID) = try Admin.join(client, owner: owner, id, role: "viewer", tag: "viewer")
        let (editor, editorMemberID) = try Admin.join(client, owner: owner, id, role: "editor", tag: "editor")
        let ownerMemberID = try Admin.memberID(client, owner.bearer, id, userID: owner.userID)

        expectError(try Admin.removeMember(client, viewer, id, memberID: editorMemberID), 403, "PERMISSION_DENIED",
                    "viewer removes editor")
        expectError(try Admin.removeMember(client, editor, id, memberID: viewerMemberID), 403, "PERMISSION_DENIED",
                    "editor removes viewer")
        let ownerRemoval = try Admin.removeMember(client, viewer, id, memberID: ownerMemberID)
        #expect(ownerRemoval.status == 403 || ownerRemoval.status == 400, "viewer removes owner: \(ownerRemoval.text)")
        #expect(try Admin.roles(client, owner.bearer, id).count == 3, "a refused removal removed someone")

        let left = try Admin.removeMember(client, viewer, id, memberID: viewerMemberID)
        #expect(left.status == 204, "viewer leaves: \(left.text)")
        let leftEditor = try Admin.removeMember(client, editor, id, memberID: editorMemberID)
        #expect(leftEditor.status == 204, "editor leaves: \(leftEditor.text)")
        #expect(try Admin.roles(client, owner.bearer, id) == [owner.userID: "owner"])
        expectError(try Admin.workspace(client, viewer.bearer, id), 403, "CROSS_TENANT_WORKSPACE", "after leaving")
        // Leaving needs a session.
        let (third, thirdMemberID) = try Admin.join(client, owner: owner, id, role: "viewer", tag: "third")
        let key = try client.createKey(third, mode: "full")
        expectError(try client.request("DELETE", "/v1/workspaces/\(id)/members/\(thirdMemberID)", headers: [bearer(key.secret)]),
                    403, "SESSION_REQUIRED")
        #expect(try Admin.roles(client, owner.bearer, id)[third.userID] == "viewer")
    }

    // MARK: Ownership

    @Test("transfer-ownership to a member: 200 workspace, new owner is owner, old owner becomes admin")
    func transferOwnership() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner, name: "Handover")
        let (heir, _) = try Admin.join(client, owner: owner, id, role: "editor", tag: "heir")
        let response = try client.request("POST", "/v1/workspaces/\(id)/transfer-ownership", headers: [owner.bearer],
                                          body: #"{"user_id":\#(heir.userID)}"#)
        #expect(response.status == 200, "\(response.text)")
        Admin.expectWorkspaceShape(response.json, "transfer")
        #expect(response.json["id"]?.int64Value == id)
        #expect(response.json["owner_id"]?.int64Value == heir.userID)
        #expect(response.json["role"]?.stringValue == "admin", "the caller's role after the transfer: \(response.text)")

        let roles = try Admin.roles(client, owner.bearer, id)
        #expect(roles[heir.userID] == "owner" && roles[owner.userID] == "admin", "\(roles)")
        #expect(roles.values.filter { $0 == "owner" }.count == 1)
        #expect(try Admin.workspace(client, heir.bearer, id).json["role"]?.stringValue == "owner")
        #expect(try Admin.workspace(client, owner.bearer, id).json["owner_id"]?.int64Value == heir.userID)
        // The rights moved with it.
        expectError(try client.request("DELETE", "/v1/workspaces/\(id)", headers: [owner.bearer]), 403, "PERMISSION_DENIED",
                    "old owner deletes")
        expectError(try client.request("POST", "/v1/workspaces/\(id)/transfer-ownership", headers: [owner.bearer],
                                       body: #"{"user_id":\#(owner.userID)}"#), 403, "PERMISSION_DENIED", "old owner takes it back")
        #expect(try client.request("PATCH", "/v1/workspaces/\(id)", headers: [owner.bearer], body: #"{"name":"Still admin"}"#)
            .status == 200)
        let back = try client.request("POST", "/v1/workspaces/\(id)/transfer-ownership", headers: [heir.bearer],
                                      body: #"{"user_id":\#(owner.userID)}"#)
        #expect(back.status == 200, "\(back.text)")
        let final = try Admin.roles(client, owner.bearer, id)
        #expect(final[owner.userID] == "owner" && final[heir.userID] == "admin", "\(final)")
    }

    @Test("transfer-ownership refused: non-member → 400 VALIDATION_FAILED, admin → 403 PERMISSION_DENIED, key → 403 SESSION_REQUIRED")
    func transferOwnershipRefused() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (admin, _) = try Admin.join(client, owner: owner, id, role: "admin")
        let (editor, _) = try Admin.join(client, owner: owner, id, role: "editor")
        let stranger = try client.signUp(email: uniqueEmail("stranger"))
        let before = try Admin.roles(client, owner.bearer, id)
        let path = "/v1/workspaces/\(id)/transfer-ownership"

        for (label, body) in [("a user who is not a member", #"{"user_id":\#(stranger.userID)}"#),
                              ("no such user", #"{"user_id":\#(stranger.userID + 10_000)}"#),
                              ("user_id missing", "{}"),
                              ("user_id a string", #"{"user_id":"\#(editor.userID)"}"#),
                              ("user_id zero", #"{"user_id":0}"#)] {
            expectError(try client.request("POST", path, headers: [owner.bearer], body: body), 400, "VALIDATION_FAILED", label)
        }
        expectError(try client.request("POST", path, headers: [admin.bearer], body: #"{"user_id":\#(editor.userID)}"#), 403,
                    "PERMISSION_DENIED", "admin transfers")
        expectError(try client.request("POST", path, headers: [admin.bearer], body: #"{"user_id":\#(admin.userID)}"#), 403,
                    "PERMISSION_DENIED", "admin transfers to themself")
        let key = try client.createKey(owner, mode: "full")
        expectError(try client.request("POST", path, headers: [bearer(key.secret)], body: #"{"user_id":\#(editor.userID)}"#),
                    403, "SESSION_REQUIRED", "owner's key")
        expectError(try client.request("POST", path, headers: [stranger.bearer], body: #"{"user_id":\#(stranger.userID)}"#),
                    403, "CROSS_TENANT_WORKSPACE", "stranger")
        #expect(try Admin.roles(client, owner.bearer, id) == before, "a refused transfer changed roles")
    }

    @Test("Transferring one's main workspace: 403 NO_MAIN_WORKSPACE without a header until PATCH /v1/me sets an owned one")
    func transferringMainLeavesNoMain() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let main = owner.mainWorkspaceID
        let (heir, _) = try Admin.join(client, owner: owner, main, role: "admin", tag: "heir")
        let transferred = try client.request("POST", "/v1/workspaces/\(main)/transfer-ownership", headers: [owner.bearer],
                                             body: #"{"user_id":\#(heir.userID)}"#)
        #expect(transferred.status == 200, "\(transferred.text)")
        #expect(transferred.json["is_main"]?.boolValue == false, "still the old owner's main: \(transferred.text)")

        expectError(try client.request("GET", "/v1/audit-log", headers: [owner.bearer]), 403, "NO_MAIN_WORKSPACE", "audit log")
        expectError(try client.request("GET", recordsPath, headers: [owner.bearer]), 403, "NO_MAIN_WORKSPACE", "records")
        expectError(try client.request("POST", recordsPath, headers: [owner.bearer], body: #"{"data":{}}"#), 403,
                    "NO_MAIN_WORKSPACE", "create record")
        // With a header the old owner (now admin) still reaches it.
        let withHeader = try client.request("GET", recordsPath, headers: [owner.bearer, ("X-Workspace-ID", String(main))])
        #expect(withHeader.status == 200, "\(withHeader.text)")
        // The heir's own main is unchanged.
        let heirRecords = try client.request("GET", recordsPath, headers: [heir.bearer])
        #expect(heirRecords.header("X-Workspace-ID") == String(heir.mainWorkspaceID))
        // Setting a workspace the user does not own as main is refused.
        expectError(try client.request("PATCH", "/v1/me", headers: [owner.bearer], body: #"{"main_workspace_id":\#(main)}"#),
                    403, "CROSS_TENANT_WORKSPACE", "main they no longer own")
        expectError(try client.request("GET", recordsPath, headers: [owner.bearer]), 403, "NO_MAIN_WORKSPACE", "still none")

        let fresh = try client.createWorkspace(owner, name: "New home")
        expectError(try client.request("GET", "/v1/audit-log", headers: [owner.bearer]), 403, "NO_MAIN_WORKSPACE",
                    "creating a workspace does not make it main")
        // It is nobody's main any more, so its new owner may delete it.
        let deleted = try client.request("DELETE", "/v1/workspaces/\(main)", headers: [heir.bearer])
        #expect(deleted.status == 204, "the transferred former main is still someone's main: \(deleted.text)")
        expectError(try client.request("GET", recordsPath, headers: [owner.bearer]), 403, "NO_MAIN_WORKSPACE", "after delete")
        let set = try client.request("PATCH", "/v1/me", headers: [owner.bearer], body: #"{"main_workspace_id":\#(fresh)}"#)
        #expect(set.status == 200, "\(set.text)")
        let records = try client.request("GET", recordsPath, headers: [owner.bearer])
        #expect(records.status == 200, "\(records.text)")
        #expect(records.header("X-Workspace-ID") == String(fresh))
        #expect(try client.request("GET", "/v1/audit-log", headers: [owner.bearer]).status == 200)
    }
}
