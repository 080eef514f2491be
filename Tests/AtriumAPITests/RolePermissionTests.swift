import AtriumJSON
import Foundation
import Testing

/// The role table of api.md §5, checked action by action over real sockets, plus "changes take
/// effect on the very next request" (§3) and concurrent role changes.
@Suite struct RolePermissionTests {
    enum Action: String, CaseIterable, Sendable {
        case getWorkspace = "GET workspace"
        case patchWorkspace = "PATCH workspace"
        case deleteWorkspace = "DELETE workspace"
        case listMembers = "list members"
        case invite = "invite"
        case changeRole = "change role"
        case removeOther = "remove other member"
        case transferOwnership = "transfer ownership"
        case listKeys = "list workspace keys"
        case createKey = "create workspace key"
        case auditLog = "audit log"
        case usage = "usage"
        case billing = "billing"
        case createRecord = "create record"
        case listRecords = "list records"

        /// The roles the §5 table allows.
        var allowedRoles: Set<String> {
            switch self {
            case .getWorkspace, .listMembers, .listRecords: return ["owner", "admin", "editor", "viewer"]
            case .createRecord: return ["owner", "admin", "editor"]
            case .patchWorkspace, .invite, .changeRole, .removeOther, .listKeys, .createKey, .auditLog, .usage, .billing:
                return ["owner", "admin"]
            case .deleteWorkspace, .transferOwnership: return ["owner"]
            }
        }
    }

    /// One fresh workspace per (role, action): owner, the actor in `role`, and a target editor.
    struct Stage {
        let workspaceID: Int64
        let actor: TestAccount
        let target: TestAccount
        let targetMemberID: Int64
    }

    @Test("Role × permission table of api.md §5: 2xx exactly where allowed, else 403 PERMISSION_DENIED and nothing written",
          arguments: Admin.roles)
    func roleTable(role: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp(email: uniqueEmail("owner"))
        let actor = try role == "owner" ? owner : client.signUp(email: uniqueEmail(role))
        let target = try client.signUp(email: uniqueEmail("target"))
        for action in Action.allCases {
            let label = "\(role) → \(action.rawValue)"
            let id = try client.createWorkspace(owner, name: "Table")
            if role != "owner" { try Admin.join(client, owner: owner, id, role: role, account: actor) }
            let (_, targetMemberID) = try Admin.join(client, owner: owner, id, role: "editor", account: target)
            let inviteEmail = uniqueEmail("invited")
            let response: TestResponse
            let scoped = [actor.bearer, ("X-Workspace-ID", String(id))]
            switch action {
            case .getWorkspace:
                response = try Admin.workspace(client, actor.bearer, id)
            case .patchWorkspace:
                response = try client.request("PATCH", "/v1/workspaces/\(id)", headers: [actor.bearer], body: #"{"name":"Changed"}"#)
            case .deleteWorkspace:
                response = try client.request("DELETE", "/v1/workspaces/\(id)", headers: [actor.bearer])
            case .listMembers:
                response = try client.request("GET", "/v1/workspaces/\(id)/members", headers: [actor.bearer])
            case .invite:
                response = try Admin.invite(client, actor, id, email: inviteEmail, role: "viewer")
            case .changeRole:
                response = try Admin.changeRole(client, actor, id, memberID: targetMemberID, role: "viewer")
            case .removeOther:
                response = try Admin.removeMember(client, actor, id, memberID: targetMemberID)
            case .transferOwnership:
                response = try client.request("POST", "/v1/workspaces/\(id)/transfer-ownership", headers: [actor.bearer],
                                              body: #"{"user_id":\#(target.userID)}"#)
            case .listKeys:
                response = try client.request("GET", "/v1/workspaces/\(id)/api-keys", headers: [actor.bearer])
            case .createKey:
                response = try client.request("POST", "/v1/workspaces/\(id)/api-keys", headers: [actor.bearer],
                                              body: #"{"name":"table"}"#)
            case .auditLog:
                response = try client.request("GET", "/v1/audit-log", headers: scoped)
            case .usage:
                response = try client.request("GET", "/v1/workspaces/\(id)/usage", headers: [actor.bearer])
            case .billing:
                response = try client.request("GET", "/v1/workspaces/\(id)/billing", headers: [actor.bearer])
            case .createRecord:
                response = try client.request("POST", recordsPath, headers: scoped, body: #"{"data":{"table":1}}"#)
            case .listRecords:
                response = try client.request("GET", recordsPath, headers: scoped)
            }

            if action.allowedRoles.contains(role) {
                #expect((200..<300).contains(response.status), "\(label): allowed, got \(response.status) \(response.text.prefix(200))")
                continue
            }
            expectError(response, 403, "PERMISSION_DENIED", label)
            // Nothing was written.
            switch action {
            case .patchWorkspace:
                #expect(try Admin.workspace(client, owner.bearer, id).json["name"]?.stringValue == "Table", "\(label) renamed it")
            case .deleteWorkspace:
                #expect(try Admin.workspace(client, owner.bearer, id).status == 200, "\(label) deleted it")
            case .invite:
                #expect(try Admin.invite(client, owner, id, email: inviteEmail, role: "viewer").status == 201,
                        "\(label) left a pending invitation")
            case .changeRole, .removeOther:
                #expect(try Admin.roles(client, owner.bearer, id)[target.userID] == "editor", "\(label) changed the target")
            case .transferOwnership:
                let roles = try Admin.roles(client, owner.bearer, id)
                #expect(roles[owner.userID] == "owner" && roles[target.userID] == "editor", "\(label) moved ownership: \(roles)")
            case .createKey:
                let keys = try client.request("GET", "/v1/workspaces/\(id)/api-keys", headers: [owner.bearer])
                #expect(keys.json["data"]?.arrayValue?.isEmpty == true, "\(label) created a key: \(keys.text)")
            case .createRecord:
                let records = try Admin.listRecords(client, owner.bearer, id)
                #expect(records.json["data"]?.arrayValue?.isEmpty == true, "\(label) created a record: \(records.text)")
            default:
                break
            }
        }
    }

    @Test("Nobody can demote the owner: admin → 400 INVALID_ROLE_TRANSITION, editor/viewer → 403 PERMISSION_DENIED",
          arguments: Admin.roles)
    func nobodyDemotesTheOwner(role: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let actor = try role == "owner" ? owner : Admin.join(client, owner: owner, id, role: role).account
        let ownerMemberID = try Admin.memberID(client, owner.bearer, id, userID: owner.userID)
        for newRole in ["admin", "editor", "viewer"] {
            let response = try Admin.changeRole(client, actor, id, memberID: ownerMemberID, role: newRole)
            if role == "owner" || role == "admin" {
                expectError(response, 400, "INVALID_ROLE_TRANSITION", "\(role) demotes owner to \(newRole)")
            } else {
                expectError(response, 403, "PERMISSION_DENIED", "\(role) demotes owner to \(newRole)")
            }
            expectError(try Admin.removeMember(client, actor, id, memberID: ownerMemberID),
                        role == "owner" || role == "admin" ? 400 : 403,
                        role == "owner" || role == "admin" ? "INVALID_ROLE_TRANSITION" : "PERMISSION_DENIED",
                        "\(role) removes owner")
        }
        let roles = try Admin.roles(client, owner.bearer, id)
        #expect(roles[owner.userID] == "owner")
        #expect(roles.values.filter { $0 == "owner" }.count == 1)
    }

    // MARK: The very next request

    @Test("After removal, the member's next request (same connection) → 403 CROSS_TENANT_WORKSPACE; their keys too")
    func removalTakesEffectAtOnce() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (member, memberID) = try Admin.join(client, owner: owner, id, role: "editor")
        let (admin, adminMemberID) = try Admin.join(client, owner: owner, id, role: "admin")
        let memberKey = try client.createKey(member, mode: "full")
        let adminBound = try client.createWorkspaceKey(admin, workspaceID: id)
        let memberConnection = try server.client()
        let header = ("X-Workspace-ID", String(id))
        // Warm every path a cache could sit on.
        for _ in 0..<3 {
            #expect(try memberConnection.request("GET", recordsPath, headers: [member.bearer, header]).status == 200)
            #expect(try memberConnection.request("GET", recordsPath, headers: [bearer(memberKey.secret), header]).status == 200)
            #expect(try memberConnection.request("GET", recordsPath, headers: [bearer(adminBound.secret)]).status == 200)
        }
        #expect(try Admin.removeMember(client, owner, id, memberID: memberID).status == 204)
        expectError(try memberConnection.request("GET", recordsPath, headers: [member.bearer, header]), 403,
                    "CROSS_TENANT_WORKSPACE", "removed member, JWT")
        expectError(try memberConnection.request("GET", recordsPath, headers: [bearer(memberKey.secret), header]), 403,
                    "CROSS_TENANT_WORKSPACE", "removed member, full key")
        expectError(try memberConnection.request("GET", "/v1/workspaces/\(id)", headers: [member.bearer]), 403,
                    "CROSS_TENANT_WORKSPACE", "removed member, path")
        expectError(try memberConnection.request("POST", recordsPath, headers: [member.bearer, header], body: #"{"data":{}}"#),
                    403, "CROSS_TENANT_WORKSPACE", "removed member, write")
        // A workspace key whose user is no longer a member (api.md §3 rule 1).
        #expect(try Admin.removeMember(client, owner, id, memberID: adminMemberID).status == 204)
        expectError(try memberConnection.request("GET", recordsPath, headers: [bearer(adminBound.secret)]), 403,
                    "CROSS_TENANT_WORKSPACE", "workspace key of a removed admin")
        let records = try Admin.listRecords(client, owner.bearer, id)
        #expect(records.json["data"]?.arrayValue?.isEmpty == true, "a removed member wrote: \(records.text)")
    }

    @Test("After demotion admin → viewer, the next invite → 403 PERMISSION_DENIED (reads still work)")
    func demotionTakesEffectAtOnce() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (admin, adminMemberID) = try Admin.join(client, owner: owner, id, role: "admin")
        let adminKey = try client.createKey(admin, mode: "full")
        let adminConnection = try server.client()
        #expect(try Admin.invite(adminConnection, admin, id, email: uniqueEmail("before"), role: "viewer").status == 201)
        #expect(try adminConnection.request("GET", "/v1/workspaces/\(id)/usage", headers: [bearer(adminKey.secret)]).status == 200)
        #expect(try Admin.changeRole(client, owner, id, memberID: adminMemberID, role: "viewer").status == 200)
        let email = uniqueEmail("after")
        expectError(try Admin.invite(adminConnection, admin, id, email: email, role: "viewer"), 403, "PERMISSION_DENIED",
                    "demoted admin invites")
        expectError(try adminConnection.request("GET", "/v1/workspaces/\(id)/usage", headers: [bearer(adminKey.secret)]), 403,
                    "PERMISSION_DENIED", "demoted admin's key reads usage")
        expectError(try adminConnection.request("PATCH", "/v1/workspaces/\(id)", headers: [admin.bearer], body: #"{"name":"x"}"#),
                    403, "PERMISSION_DENIED", "demoted admin patches")
        #expect(try Admin.workspace(adminConnection, admin.bearer, id).json["role"]?.stringValue == "viewer")
        #expect(try Admin.invite(client, owner, id, email: email, role: "viewer").status == 201,
                "the refused invite left an invitation behind")
        // And back up: the next request sees it.
        #expect(try Admin.changeRole(client, owner, id, memberID: adminMemberID, role: "admin").status == 200)
        #expect(try Admin.invite(adminConnection, admin, id, email: uniqueEmail("again"), role: "viewer").status == 201)
    }

    @Test("A revoked workspace key → 401 INVALID_TOKEN on its next request, on the same connection")
    func revokedKeyFailsAtOnce() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let bound = try client.createWorkspaceKey(owner, workspaceID: id)
        let full = try client.createKey(owner, mode: "full")
        let keyConnection = try server.client()
        for _ in 0..<3 {
            #expect(try keyConnection.request("GET", recordsPath, headers: [bearer(bound.secret)]).status == 200)
            #expect(try keyConnection.request("GET", recordsPath, headers: [bearer(full.secret)]).status == 200)
        }
        let revoked = try client.request("DELETE", "/v1/workspaces/\(id)/api-keys/\(bound.id)", headers: [owner.bearer])
        #expect(revoked.status == 204, "\(revoked.text)")
        expectError(try keyConnection.request("GET", recordsPath, headers: [bearer(bound.secret)]), 401, "INVALID_TOKEN",
                    "revoked workspace key")
        expectError(try keyConnection.request("GET", recordsPath, headers: [("X-API-Key", bound.secret)]), 401, "INVALID_TOKEN",
                    "revoked workspace key via X-API-Key")
        let keys = try client.request("GET", "/v1/workspaces/\(id)/api-keys", headers: [owner.bearer])
        #expect(!(keys.json["data"]?.arrayValue ?? []).contains { $0["id"]?.int64Value == bound.id })
        #expect(try client.request("DELETE", "/v1/api-keys/\(full.id)", headers: [owner.bearer]).status == 204)
        expectError(try keyConnection.request("GET", recordsPath, headers: [bearer(full.secret)]), 401, "INVALID_TOKEN",
                    "revoked full key")
    }

    // MARK: Concurrency

    @Test("Two admins change one member's role at the same moment: both answered, final role one of the two and consistent")
    func concurrentRoleChanges() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (first, _) = try Admin.join(client, owner: owner, id, role: "admin", tag: "first")
        let (second, _) = try Admin.join(client, owner: owner, id, role: "admin", tag: "second")
        let (member, memberID) = try Admin.join(client, owner: owner, id, role: "editor", tag: "target")
        let port = server.port
        let tokens = [first.accessToken, second.accessToken]
        let pairs = [("viewer", "admin"), ("admin", "viewer"), ("viewer", "editor"), ("editor", "admin"), ("admin", "editor")]
        for (round, pair) in pairs.enumerated() {
            #expect(try Admin.changeRole(client, owner, id, memberID: memberID, role: round % 2 == 0 ? "editor" : "viewer")
                .status == 200)
            let wanted = [pair.0, pair.1]
            let results = Collected<(Int, TestResponse)>()
            let failures = Collected<String>()
            let barrier = AdminBarrier(parties: 2)
            runOnThreads(2) { index in
                do {
                    let connection = try HTTPTestClient(port: port)
                    barrier.wait()
                    let response = try connection.request("PATCH", "/v1/workspaces/\(id)/members/\(memberID)",
                                                          headers: [("Authorization", "Bearer \(tokens[index])")],
                                                          body: #"{"role":"\#(wanted[index])"}"#)
                    results.append((index, response))
                } catch {
                    failures.append("\(error)")
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            let answers = results.all
            #expect(answers.count == 2)
            let succeeded = answers.filter { $0.1.status == 200 }.map { wanted[$0.0] }
            for (index, response) in answers where response.status != 200 {
                #expect((400..<500).contains(response.status), "round \(round) \(wanted[index]): \(response.status) \(response.text)")
            }
            #expect(!succeeded.isEmpty, "round \(round): neither change was answered 200: \(answers.map { $0.1.text })")
            let final = try #require(try Admin.roles(client, owner.bearer, id)[member.userID])
            #expect(succeeded.contains(final), "round \(round): final role \(final), successful changes \(succeeded)")
            // The role the list shows is the role the permission check uses.
            #expect(try Admin.workspace(client, member.bearer, id).json["role"]?.stringValue == final)
            let invite = try Admin.invite(client, member, id, email: uniqueEmail("probe"), role: "viewer")
            if final == "admin" {
                #expect(invite.status == 201, "round \(round): role admin but invite → \(invite.status)")
            } else {
                expectError(invite, 403, "PERMISSION_DENIED", "round \(round): role \(final) invites")
            }
            let record = try Admin.createRecord(client, member.bearer, id)
            if final == "viewer" {
                expectError(record, 403, "PERMISSION_DENIED", "round \(round): viewer writes")
            } else {
                #expect(record.status == 201, "round \(round): role \(final) cannot write: \(record.text)")
            }
        }
    }
}
