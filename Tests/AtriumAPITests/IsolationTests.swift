import AtriumJSON
import Foundation
import Testing

/// Tenant isolation over real sockets (api.md §3): every credential of one user tries every
/// workspace of another on every scoped route, and nothing of the victim ever comes back.
@Suite struct IsolationTests {
    /// One user with uniquely named workspaces and one credential of each kind.
    struct Tenant {
        let account: TestAccount
        /// main, then the three uniquely named ones.
        let workspaceIDs: [Int64]
        let names: [String]
        let full: (secret: String, id: Int64)
        let scoped: (secret: String, id: Int64)
        let bound: (secret: String, id: Int64)
        /// Record ids in each workspace (empty when the records route is not there yet).
        var recordIDs: [Int64]
        let marker: String
        /// The owner's member id in each workspace.
        let ownerMemberIDs: [Int64]
        /// A pending invitation of workspace 1, addressed to `inviteeEmail`.
        let invitationID: Int64
        let invitationToken: String
        let inviteeEmail: String

        var credentials: [(label: String, header: (String, String), kind: Kind)] {
            [("JWT", account.bearer, .session),
             ("full key", bearer(full.secret), .full),
             ("full key via X-API-Key", ("X-API-Key", full.secret), .full),
             ("scoped key", bearer(scoped.secret), .scoped),
             ("workspace key", bearer(bound.secret), .workspace)]
        }

        /// What each credential may reach of its own: the workspace a request "in my own space" uses.
        func ownWorkspace(_ kind: Kind) -> Int64 {
            switch kind {
            case .session, .full: return workspaceIDs[0]
            case .scoped: return workspaceIDs[1]
            case .workspace: return workspaceIDs[3]
            }
        }
    }

    enum Kind { case session, full, scoped, workspace }

    static func makeTenant(_ client: HTTPTestClient, tag: String) throws -> Tenant {
        let unique = UUID().uuidString.prefix(8).lowercased()
        let account = try client.signUp(email: "\(tag)-\(unique)@isolation.example.com", name: "Person \(tag) \(unique)")
        var ids = [account.mainWorkspaceID]
        var names: [String] = []
        for suffix in ["alpha", "beta", "gamma"] {
            let name = "\(tag)-\(suffix)-\(unique)"
            ids.append(try client.createWorkspace(account, name: name))
            names.append(name)
        }
        let full = try client.createKey(account, mode: "full")
        let scoped = try client.createKey(account, mode: "scoped", workspaceIDs: [ids[1], ids[2]])
        let bound = try client.createWorkspaceKey(account, workspaceID: ids[3])
        let marker = "marker-\(tag)-\(unique)"
        var records: [Int64] = []
        for id in ids {
            let response = try client.request("POST", "/v1/collections/items/records",
                                              headers: [account.bearer, ("X-Workspace-ID", String(id))],
                                              body: #"{"data":{"secret":"\#(marker)","n":\#(id)}}"#)
            if let recordID = response.json["id"]?.int64Value, response.status == 201 { records.append(recordID) }
        }
        var ownerMembers: [Int64] = []
        for id in ids {
            let members = try client.request("GET", "/v1/workspaces/\(id)/members", headers: [account.bearer])
            let mine = members.json["data"]?.arrayValue?.first { $0["user_id"]?.int64Value == account.userID }
            guard let memberID = mine?["id"]?.int64Value else { throw TestFailure("members: \(members.text)") }
            ownerMembers.append(memberID)
        }
        let invitee = "invitee-\(tag)-\(unique)@isolation.example.com"
        let invite = try client.request("POST", "/v1/workspaces/\(ids[1])/members/invite", headers: [account.bearer],
                                        body: #"{"email":"\#(invitee)","role":"editor"}"#)
        guard invite.status == 201, let invitationID = invite.json["id"]?.int64Value,
              let token = invite.json["token"]?.stringValue else { throw TestFailure("invite: \(invite.text)") }
        return Tenant(account: account, workspaceIDs: ids, names: names, full: full, scoped: scoped, bound: bound,
                      recordIDs: records, marker: marker, ownerMemberIDs: ownerMembers, invitationID: invitationID,
                      invitationToken: token, inviteeEmail: invitee)
    }

    /// Walks a JSON value and collects the workspace ids found in data positions.
    static func workspaceIDsInData(_ value: JSONValue) -> [Int64] {
        var found: [Int64] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let object):
                if object["is_main"] != nil, let id = object["id"]?.int64Value { found.append(id) }
                if let id = object["workspace_id"]?.int64Value { found.append(id) }
                for id in object["workspace_ids"]?.arrayValue ?? [] { if let id = id.int64Value { found.append(id) } }
                for (_, member) in object { walk(member) }
            case .array(let items):
                items.forEach(walk)
            default:
                break
            }
        }
        walk(value)
        return found
    }

    /// The leak check applied to every response an attacker gets.
    static func expectNoLeak(_ response: TestResponse, of victim: Tenant, _ label: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        let text = response.text
        #expect(!text.contains(victim.account.email), "\(label): victim email in \(text)", sourceLocation: sourceLocation)
        #expect(!text.contains(victim.marker), "\(label): victim record data in \(text)", sourceLocation: sourceLocation)
        for name in victim.names {
            #expect(!text.contains(name), "\(label): victim workspace name in \(text)", sourceLocation: sourceLocation)
        }
        let leaked = Set(workspaceIDsInData(response.json)).intersection(victim.workspaceIDs)
        #expect(leaked.isEmpty, "\(label): victim workspace ids \(leaked) in \(text)", sourceLocation: sourceLocation)
        if let header = response.header("X-Workspace-ID"), let id = Int64(header) {
            #expect(!victim.workspaceIDs.contains(id), "\(label): X-Workspace-ID \(id)", sourceLocation: sourceLocation)
        }
        #expect(!text.contains(victim.inviteeEmail), "\(label): victim invitation in \(text)", sourceLocation: sourceLocation)
        for key in [victim.full.secret, victim.scoped.secret, victim.bound.secret, victim.account.accessToken,
                    victim.invitationToken] {
            #expect(!text.contains(key), "\(label): victim credential leaked", sourceLocation: sourceLocation)
        }
    }

    /// Checks status and code against the allowed outcomes.
    static func expectOutcome(_ response: TestResponse, _ allowed: [(Int, String?)], _ label: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let ok = allowed.contains { $0.0 == response.status && ($0.1 == nil || $0.1 == response.errorCode) }
        #expect(ok, "\(label): got \(response.status) \(response.text.prefix(200)); allowed \(allowed)",
                sourceLocation: sourceLocation)
    }

    static let crossTenant: [(Int, String?)] = [(403, "CROSS_TENANT_WORKSPACE")]
    static let crossTenantOrSession: [(Int, String?)] = [(403, "CROSS_TENANT_WORKSPACE"), (403, "SESSION_REQUIRED")]

    @Test(arguments: [false, true])
    func noCredentialOfOneTenantReachesTheOther(reversed: Bool) throws {
        let server = try TestServer()
        let client = try server.client()
        let a = try Self.makeTenant(client, tag: "tenant-a")
        let b = try Self.makeTenant(client, tag: "tenant-b")
        let (attacker, victim) = reversed ? (b, a) : (a, b)
        let hasRecords = attacker.recordIDs.count == 4 && victim.recordIDs.count == 4
        let victimWorkspaceKeyID = victim.bound.id
        var attempts = 0

        func send(_ method: String, _ path: String, _ headers: [(String, String)], body: String? = nil,
                  label: String) throws -> TestResponse {
            let response = try client.request(method, path, headers: headers, body: body)
            attempts += 1
            Self.expectNoLeak(response, of: victim, label)
            return response
        }

        for (credLabel, credential, kind) in attacker.credentials {
            let isKey = kind != .session
            let own = attacker.ownWorkspace(kind)
            for target in victim.workspaceIDs {
                let label = "\(credLabel) → victim workspace \(target)"
                // Path routes.
                Self.expectOutcome(try send("GET", "/v1/workspaces/\(target)", [credential], label: label),
                                   Self.crossTenant, "GET workspace, \(label)")
                let keyRoutes: [(String, String, String?)] = [
                    ("GET", "/v1/workspaces/\(target)/api-keys", nil),
                    ("POST", "/v1/workspaces/\(target)/api-keys", #"{"name":"planted"}"#),
                    ("PUT", "/v1/workspaces/\(target)/api-keys/\(victimWorkspaceKeyID)", #"{"name":"hijacked"}"#),
                    ("DELETE", "/v1/workspaces/\(target)/api-keys/\(victimWorkspaceKeyID)", nil),
                ]
                let memberID = victim.ownerMemberIDs[victim.workspaceIDs.firstIndex(of: target)!]
                let sessionRoutes: [(String, String, String?)] = keyRoutes + [
                    ("DELETE", "/v1/workspaces/\(target)", nil),
                    ("POST", "/v1/workspaces/\(target)/members/invite",
                     #"{"email":"\#(attacker.account.email)","role":"admin"}"#),
                    ("PATCH", "/v1/workspaces/\(target)/members/\(memberID)", #"{"role":"viewer"}"#),
                    ("DELETE", "/v1/workspaces/\(target)/members/\(memberID)", nil),
                    ("POST", "/v1/workspaces/\(target)/transfer-ownership", #"{"user_id":\#(attacker.account.userID)}"#),
                ]
                for (method, path, body) in sessionRoutes {
                    Self.expectOutcome(try send(method, path, [credential], body: body, label: label),
                                       isKey ? [(403, "SESSION_REQUIRED")] : Self.crossTenant, "\(method) \(path), \(label)")
                }
                let anyCredentialRoutes: [(String, String, String?)] = [
                    ("PATCH", "/v1/workspaces/\(target)", #"{"name":"pwned","metadata":{"pwned":true}}"#),
                    ("GET", "/v1/workspaces/\(target)/members", nil),
                    ("GET", "/v1/workspaces/\(target)/usage", nil),
                    ("GET", "/v1/workspaces/\(target)/billing", nil),
                ]
                for (method, path, body) in anyCredentialRoutes {
                    Self.expectOutcome(try send(method, path, [credential], body: body, label: label), Self.crossTenant,
                                       "\(method) \(path), \(label)")
                }
                // The audit log follows the header/query rule.
                for (query, extra) in [("", [("X-Workspace-ID", String(target))]), ("?workspace_id=\(target)", [])] {
                    let audit = try send("GET", "/v1/audit-log" + query, [credential] + extra, label: label)
                    if kind == .workspace {
                        #expect(audit.status == 200 || audit.status == 403, "\(label): \(audit.text)")
                        if audit.status == 200 { #expect(audit.header("X-Workspace-ID") == String(own)) }
                        if audit.status == 403 { #expect(audit.errorCode == "PERMISSION_DENIED") }
                    } else {
                        Self.expectOutcome(audit, Self.crossTenant, "GET /v1/audit-log\(query), \(label)")
                    }
                }
                // A path of its own with the victim's id in the header.
                let mixed = try send("GET", "/v1/workspaces/\(own)", [credential, ("X-Workspace-ID", String(target))],
                                     label: label)
                if kind == .workspace {
                    #expect(mixed.status == 200, "workspace key ignores the header: \(mixed.text)")
                    #expect(mixed.header("X-Workspace-ID") == String(own))
                } else {
                    Self.expectOutcome(mixed, [(400, "WORKSPACE_MISMATCH"), (403, "CROSS_TENANT_WORKSPACE")],
                                       "own path + victim header, \(label)")
                }
                // Header and query rule on the records routes.
                guard hasRecords else { continue }
                let selections: [(String, [(String, String)])] = [
                    ("", [("X-Workspace-ID", String(target))]),
                    ("?workspace_id=\(target)", []),
                ]
                for (query, extra) in selections {
                    let list = try send("GET", recordsPath + query, [credential] + extra, label: label)
                    let create = try send("POST", recordsPath + query, [credential] + extra,
                                          body: #"{"data":{"planted":true}}"#, label: label)
                    if kind == .workspace {
                        #expect(list.status == 200, "\(label): \(list.text)")
                        #expect(list.header("X-Workspace-ID") == String(own))
                        #expect(create.status == 201, "\(label): \(create.text)")
                        #expect(create.json["workspace_id"]?.int64Value == own)
                    } else {
                        Self.expectOutcome(list, Self.crossTenant, "GET records\(query), \(label)")
                        Self.expectOutcome(create, Self.crossTenant, "POST records\(query), \(label)")
                    }
                }
                Self.expectOutcome(try send("GET", "\(recordsPath)?workspaces=\(target)", [credential], label: label),
                                   Self.crossTenant, "fan-out list, \(label)")
                Self.expectOutcome(try send("GET", "\(recordsPath)?workspaces=\(own),\(target)", [credential], label: label),
                                   Self.crossTenant, "fan-out list with own, \(label)")
            }
            // Calls on the victim's rows.
            if hasRecords {
                for recordID in victim.recordIDs {
                    let label = "\(credLabel) → victim record \(recordID)"
                    Self.expectOutcome(try send("GET", "/v1/records/\(recordID)", [credential], label: label),
                                       [(404, "NOT_FOUND")], label)
                    Self.expectOutcome(try send("PATCH", "/v1/records/\(recordID)", [credential],
                                                body: #"{"data":{"secret":"overwritten"}}"#, label: label),
                                       [(404, "NOT_FOUND")], label)
                    Self.expectOutcome(try send("PUT", "/v1/records/\(recordID)", [credential],
                                                body: #"{"data":{"secret":"overwritten"}}"#, label: label),
                                       [(404, "NOT_FOUND")], label)
                    Self.expectOutcome(try send("DELETE", "/v1/records/\(recordID)", [credential], label: label),
                                       [(404, "NOT_FOUND")], label)
                }
                let all = try send("GET", "\(recordsPath)?workspaces=all", [credential], label: "\(credLabel) fan-out all")
                #expect(all.status == 200, "\(credLabel) workspaces=all: \(all.text)")
            }
            // Account-level views.
            for path in ["/v1/me", "/v1/workspaces", "/v1/api-keys", "/v1/user/workspaces", "/v1/account",
                         "/v1/workspaces/invitations/pending"] {
                let response = try send("GET", path, [credential], label: "\(credLabel) \(path)")
                let sessionOnly = ["/v1/api-keys", "/v1/user/workspaces", "/v1/workspaces/invitations/pending"].contains(path)
                if isKey && sessionOnly {
                    Self.expectOutcome(response, [(403, "SESSION_REQUIRED")], "\(credLabel) \(path)")
                } else {
                    #expect(response.status == 200, "\(credLabel) \(path): \(response.text)")
                }
            }
        }

        // Session-only writes that name the victim's things.
        let session = [attacker.account.bearer]
        let victimIDs = victim.workspaceIDs.map(String.init).joined(separator: ",")
        Self.expectOutcome(try send("POST", "/v1/api-keys", session,
                                    body: #"{"name":"x","mode":"scoped","workspace_ids":[\#(victimIDs)]}"#,
                                    label: "scoped key on victim workspaces"), Self.crossTenant, "create scoped key")
        Self.expectOutcome(try send("PUT", "/v1/api-keys/\(attacker.scoped.id)", session,
                                    body: #"{"name":"x","workspace_ids":[\#(victim.workspaceIDs[1])]}"#,
                                    label: "widen scoped key"), Self.crossTenant, "widen scoped key")
        for keyID in [victim.full.id, victim.scoped.id] {
            Self.expectOutcome(try send("PUT", "/v1/api-keys/\(keyID)", session, body: #"{"name":"hijacked"}"#,
                                        label: "PUT victim key"), [(404, "NOT_FOUND")], "PUT victim key \(keyID)")
            Self.expectOutcome(try send("DELETE", "/v1/api-keys/\(keyID)", session, label: "DELETE victim key"),
                               [(404, "NOT_FOUND")], "DELETE victim key \(keyID)")
        }
        for path in ["/v1/workspaces/\(attacker.workspaceIDs[0])/api-keys/\(victim.bound.id)",
                     "/v1/workspaces/\(attacker.workspaceIDs[3])/api-keys/\(victim.bound.id)"] {
            Self.expectOutcome(try send("PUT", path, session, body: #"{"name":"hijacked"}"#, label: "PUT \(path)"),
                               [(404, "NOT_FOUND")], "PUT \(path)")
            Self.expectOutcome(try send("DELETE", path, session, label: "DELETE \(path)"), [(404, "NOT_FOUND")],
                               "DELETE \(path)")
        }
        // The victim's invitation: another workspace's row, addressed to someone else.
        Self.expectOutcome(try send("POST", "/v1/workspaces/invitations/\(victim.invitationID)/resend", session,
                                    label: "resend victim invitation"), [(404, "NOT_FOUND")], "resend victim invitation")
        Self.expectOutcome(try send("DELETE", "/v1/workspaces/invitations/\(victim.invitationID)", session,
                                    label: "revoke victim invitation"), [(404, "NOT_FOUND")], "revoke victim invitation")
        Self.expectOutcome(try send("POST", "/v1/workspaces/invitations/\(victim.invitationToken)/accept", session,
                                    label: "accept victim invitation"), [(404, "NOT_FOUND")], "accept victim invitation")
        for target in victim.workspaceIDs {
            Self.expectOutcome(try send("PATCH", "/v1/me", session, body: #"{"main_workspace_id":\#(target)}"#,
                                        label: "PATCH /v1/me main"), Self.crossTenant, "main = victim \(target)")
        }
        #expect(attempts > 100)

        // The victim's world is unchanged and still works.
        let victimSession = [victim.account.bearer]
        let workspaces = try client.request("GET", "/v1/user/workspaces", headers: victimSession)
        #expect(Set((workspaces.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }) == Set(victim.workspaceIDs))
        #expect(Set((workspaces.json["data"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
            == Set(["Main"] + victim.names))
        let victimKeys = try client.accountKeys(victim.account)
        #expect(Set(victimKeys.compactMap { $0["name"]?.stringValue }) == ["k"])
        #expect(victimKeys.count == 2)
        let boundKeys = try client.request("GET", "/v1/workspaces/\(victim.workspaceIDs[3])/api-keys", headers: victimSession)
        #expect(boundKeys.json["data"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["wk"])
        for target in victim.workspaceIDs {
            let keys = try client.request("GET", "/v1/workspaces/\(target)/api-keys", headers: victimSession)
            #expect(!keys.text.contains("planted"), "a key was planted in victim workspace \(target)")
        }
        for secret in [victim.full.secret, victim.scoped.secret, victim.bound.secret] {
            #expect(try client.me(secret).status == 200)
        }
        for (index, target) in victim.workspaceIDs.enumerated() {
            let members = try client.request("GET", "/v1/workspaces/\(target)/members", headers: victimSession)
            let data = members.json["data"]?.arrayValue ?? []
            #expect(data.count == 1, "members of victim workspace \(target): \(members.text)")
            #expect(data.first?["id"]?.int64Value == victim.ownerMemberIDs[index])
            #expect(data.first?["role"]?.stringValue == "owner")
        }
        let invitee = try client.signUp(email: victim.inviteeEmail)
        let pending = try client.request("GET", "/v1/workspaces/invitations/pending", headers: [invitee.bearer])
        #expect(pending.json["data"]?.arrayValue?.compactMap { $0["id"]?.int64Value } == [victim.invitationID],
                "\(pending.text)")
        let accepted = try client.request("POST", "/v1/workspaces/invitations/\(victim.invitationToken)/accept",
                                          headers: [invitee.bearer])
        #expect(accepted.status == 200, "the victim's invitation still works: \(accepted.text)")
        let me = try client.me(victim.account.accessToken)
        #expect(me.json["workspaces"]?.arrayValue?.first { $0["is_main"]?.boolValue == true }?["id"]?.int64Value
            == victim.workspaceIDs[0])
        if hasRecords {
            for (index, recordID) in victim.recordIDs.enumerated() {
                let record = try client.request("GET", "/v1/records/\(recordID)", headers: victimSession)
                #expect(record.status == 200, "\(record.text)")
                #expect(record.json["data"]?["secret"]?.stringValue == victim.marker)
                #expect(record.json["workspace_id"]?.int64Value == victim.workspaceIDs[index])
            }
            for target in victim.workspaceIDs {
                let list = try client.request("GET", recordsPath, headers: victimSession + [("X-Workspace-ID", String(target))])
                #expect(!list.text.contains("planted"), "a record was planted in victim workspace \(target)")
                #expect(list.json["data"]?.arrayValue?.count == 1)
            }
        }
        // And the attacker's own data is still its own.
        let attackerMe = try client.me(attacker.account.accessToken)
        #expect(Set((attackerMe.json["workspaces"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value })
            == Set(attacker.workspaceIDs))
        Self.expectNoLeak(attackerMe, of: victim, "attacker /v1/me at the end")
        // The leak walker does find workspace ids where they are (so its silence above means something).
        #expect(Set(Self.workspaceIDsInData(attackerMe.json)) == Set(attacker.workspaceIDs))
        #expect(hasRecords, "the records routes were not exercised: GET/POST \(recordsPath) not available")
    }
}
