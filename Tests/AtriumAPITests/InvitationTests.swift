import AtriumJSON
import Foundation
import Testing

/// Invitations over real sockets (api.md §5): create, list, accept, resend, revoke, limits.
@Suite struct InvitationTests {
    @Test("Invite: 201 invitation {id, workspace_id, email, role, status, token, expires_at, created_at}, expiring in ~7 days")
    func inviteShapeAndExpiry() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let email = uniqueEmail("invitee")
        let response = try Admin.invite(client, owner, id, email: email, role: "viewer")
        #expect(response.status == 201, "\(response.text)")
        Admin.expectInvitationShape(response.json, "invitation")
        #expect(response.json["workspace_id"]?.int64Value == id)
        #expect(response.json["email"]?.stringValue == email)
        #expect(response.json["role"]?.stringValue == "viewer")
        #expect(response.json["status"]?.stringValue == "pending")
        #expect(response.header("Location") != nil, "a create answers with Location")
        let created = try #require(Admin.date(response.json["created_at"]))
        let expires = try #require(Admin.date(response.json["expires_at"]))
        let lifetime = expires.timeIntervalSince(created)
        #expect(abs(lifetime - 7 * 86_400) < 120, "expiry is \(lifetime) s after creation, not 7 days")
        #expect(abs(created.timeIntervalSinceNow) < 300, "created_at is not now: \(created)")

        // The invitee signs up afterwards and finds it pending.
        let invitee = try client.signUp(email: email)
        let pending = try Admin.pending(client, invitee)
        #expect(pending.count == 1)
        #expect(pending.first?["id"]?.int64Value == response.json["id"]?.int64Value)
        #expect(pending.first?["workspace_id"]?.int64Value == id)
        #expect(pending.first?["status"]?.stringValue == "pending")
        // Session only.
        let key = try client.createKey(owner, mode: "full")
        expectError(try client.request("POST", "/v1/workspaces/\(id)/members/invite", headers: [bearer(key.secret)],
                                       body: #"{"email":"k@example.com","role":"viewer"}"#), 403, "SESSION_REQUIRED")
        let inviteeKey = try client.createKey(invitee, mode: "full")
        let token = try #require(response.json["token"]?.stringValue)
        expectError(try client.request("POST", "/v1/workspaces/invitations/\(token)/accept", headers: [bearer(inviteeKey.secret)]),
                    403, "SESSION_REQUIRED")
        expectError(try client.request("GET", "/v1/workspaces/invitations/pending", headers: [bearer(inviteeKey.secret)]), 403,
                    "SESSION_REQUIRED")
        #expect(try Admin.pending(client, invitee).count == 1, "a refused accept consumed the invitation")

        // Emails are compared as the account stores them: trimmed and lower-cased.
        let mixed = uniqueEmail("mixed")
        let shouted = try Admin.invite(client, owner, id, email: "  " + mixed.uppercased() + " ", role: "editor")
        #expect(shouted.status == 201, "\(shouted.text)")
        #expect(shouted.json["email"]?.stringValue == mixed, "invitation email not normalized: \(shouted.text)")
        let mixedUser = try client.signUp(email: mixed)
        #expect(try Admin.pending(client, mixedUser).count == 1)
        expectError(try Admin.invite(client, owner, id, email: mixed, role: "editor"), 409, "INVITATION_PENDING",
                    "the same email in another case")
        #expect(try Admin.accept(client, mixedUser, token: shouted.json["token"]?.stringValue ?? "-").status == 200)
    }

    @Test("Invite a member → 409 ALREADY_MEMBER; invite a pending email again → 409 INVITATION_PENDING")
    func inviteConflicts() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (member, _) = try Admin.join(client, owner: owner, id, role: "editor")
        expectError(try Admin.invite(client, owner, id, email: member.email, role: "viewer"), 409, "ALREADY_MEMBER", "member")
        expectError(try Admin.invite(client, owner, id, email: owner.email, role: "admin"), 409, "ALREADY_MEMBER", "owner")
        #expect(try Admin.pending(client, member).isEmpty, "an ALREADY_MEMBER invite left an invitation")

        let invitee = try client.signUp(email: uniqueEmail("pending"))
        #expect(try Admin.invite(client, owner, id, email: invitee.email, role: "viewer").status == 201)
        expectError(try Admin.invite(client, owner, id, email: invitee.email, role: "viewer"), 409, "INVITATION_PENDING", "same")
        expectError(try Admin.invite(client, owner, id, email: invitee.email, role: "admin"), 409, "INVITATION_PENDING",
                    "other role")
        let pending = try Admin.pending(client, invitee)
        #expect(pending.count == 1, "\(pending)")
        #expect(pending.first?["role"]?.stringValue == "viewer", "the refused invite changed the pending one")
        // Another workspace may invite the same email.
        let other = try client.createWorkspace(owner, name: "Other")
        #expect(try Admin.invite(client, owner, other, email: invitee.email, role: "viewer").status == 201)
        #expect(try Admin.pending(client, invitee).count == 2)
    }

    @Test("Invite with a role outside admin/editor/viewer or a bad email → 400 VALIDATION_FAILED, nothing pending")
    func inviteValidation() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let invitee = try client.signUp(email: uniqueEmail("bad-role"))
        let path = "/v1/workspaces/\(id)/members/invite"
        let email = jsonString(invitee.email)
        for (label, body) in [("role owner", #"{"email":\#(email),"role":"owner"}"#),
                              ("role superadmin", #"{"email":\#(email),"role":"superadmin"}"#),
                              ("role empty", #"{"email":\#(email),"role":""}"#),
                              ("role missing", #"{"email":\#(email)}"#),
                              ("role a number", #"{"email":\#(email),"role":2}"#),
                              ("email missing", #"{"role":"viewer"}"#),
                              ("email not an address", #"{"email":"nobody","role":"viewer"}"#),
                              ("email a number", #"{"email":5,"role":"viewer"}"#)] {
            expectError(try client.request("POST", path, headers: [owner.bearer], body: body), 400, "VALIDATION_FAILED", label)
        }
        #expect(try Admin.pending(client, invitee).isEmpty)
        let log = try Admin.auditEntries(client, owner.bearer, id)
        #expect(!log.contains { $0["action"]?.stringValue?.contains("invitation") == true },
                "a refused invite was audited: \(log)")
    }

    @Test("GET /v1/workspaces/invitations/pending lists exactly the caller's pending invitations")
    func pendingListsCallers() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let first = try client.createWorkspace(owner, name: "First")
        let second = try client.createWorkspace(owner, name: "Second")
        let carol = try client.signUp(email: uniqueEmail("carol"))
        let dave = try client.signUp(email: uniqueEmail("dave"))
        #expect(try Admin.invite(client, owner, first, email: carol.email, role: "viewer").status == 201)
        #expect(try Admin.invite(client, owner, second, email: carol.email, role: "editor").status == 201)
        let forDave = try Admin.invite(client, owner, first, email: dave.email, role: "admin")
        #expect(forDave.status == 201)

        let response = try client.request("GET", "/v1/workspaces/invitations/pending", headers: [carol.bearer])
        #expect(response.status == 200)
        let carols = try #require(response.json["data"]?.arrayValue, "\(response.text)")
        #expect(Set(carols.compactMap { $0["workspace_id"]?.int64Value }) == [first, second])
        #expect(carols.allSatisfy { $0["email"]?.stringValue == carol.email })
        for invitation in carols { #expect(invitation["status"]?.stringValue == "pending") }
        #expect(!response.text.contains(dave.email))
        let daves = try Admin.pending(client, dave)
        #expect(daves.count == 1 && daves.first?["id"]?.int64Value == forDave.json["id"]?.int64Value)
        #expect(try Admin.pending(client, owner).isEmpty, "the inviter is not the invitee")
        // Accepted invitations leave the list.
        let token = try #require(forDave.json["token"]?.stringValue)
        #expect(try Admin.accept(client, dave, token: token).status == 200)
        #expect(try Admin.pending(client, dave).isEmpty)
    }

    @Test("Accepting someone else's token or an unknown one → 404; nothing joins")
    func acceptingOthersToken() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let carol = try client.signUp(email: uniqueEmail("carol"))
        let mallory = try client.signUp(email: uniqueEmail("mallory"))
        let invitation = try Admin.invite(client, owner, id, email: carol.email, role: "admin")
        let token = try #require(invitation.json["token"]?.stringValue)
        expectError(try Admin.accept(client, mallory, token: token), 404, "NOT_FOUND", "someone else's")
        expectError(try Admin.accept(client, owner, token: token), 404, "NOT_FOUND", "the inviter's own")
        expectError(try Admin.accept(client, mallory, token: "inv_doesnotexist0000000000000000000000000"), 404, "NOT_FOUND",
                    "unknown")
        expectError(try Admin.accept(client, carol, token: String(token.dropLast()) + (token.hasSuffix("A") ? "B" : "A")), 404,
                    "NOT_FOUND", "altered")
        #expect(try Admin.roles(client, owner.bearer, id)[mallory.userID] == nil)
        expectError(try Admin.workspace(client, mallory.bearer, id), 403, "CROSS_TENANT_WORKSPACE")
        // Still pending for its addressee.
        #expect(try Admin.accept(client, carol, token: token).status == 200)
        #expect(try Admin.roles(client, owner.bearer, id)[carol.userID] == "admin")
    }

    @Test("Accepting twice → 409 INVITATION_NOT_PENDING, one membership")
    func acceptTwice() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let carol = try client.signUp(email: uniqueEmail("carol"))
        let token = try #require(try Admin.invite(client, owner, id, email: carol.email, role: "editor").json["token"]?.stringValue)
        #expect(try Admin.accept(client, carol, token: token).status == 200)
        expectError(try Admin.accept(client, carol, token: token), 409, "INVITATION_NOT_PENDING")
        let members = try Admin.members(client, owner.bearer, id)
        #expect(members.filter { $0["user_id"]?.int64Value == carol.userID }.count == 1)
        #expect(members.count == 2)
    }

    @Test("A revoked invitation: 409 INVITATION_NOT_PENDING on accept and on resend")
    func revokedInvitation() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let carol = try client.signUp(email: uniqueEmail("carol"))
        let invitation = try Admin.invite(client, owner, id, email: carol.email, role: "editor")
        let token = try #require(invitation.json["token"]?.stringValue)
        let invitationID = try #require(invitation.json["id"]?.int64Value)
        let revoked = try client.request("DELETE", "/v1/workspaces/invitations/\(invitationID)", headers: [owner.bearer])
        #expect(revoked.status == 204, "\(revoked.text)")
        expectError(try Admin.accept(client, carol, token: token), 409, "INVITATION_NOT_PENDING", "accept revoked")
        expectError(try client.request("POST", "/v1/workspaces/invitations/\(invitationID)/resend", headers: [owner.bearer]), 409,
                    "INVITATION_NOT_PENDING", "resend revoked")
        #expect(try Admin.roles(client, owner.bearer, id)[carol.userID] == nil)
        #expect(try Admin.pending(client, carol).isEmpty)
        // A new invitation to the same email is allowed once the old one is revoked.
        let again = try Admin.invite(client, owner, id, email: carol.email, role: "viewer")
        #expect(again.status == 201, "\(again.text)")
        #expect(try Admin.accept(client, carol, token: again.json["token"]?.stringValue ?? "-").status == 200)
    }

    @Test("Resend: 200 with a fresh token (old one 404, new one works); resend of an accepted one → 409 INVITATION_NOT_PENDING")
    func resend() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (editor, _) = try Admin.join(client, owner: owner, id, role: "editor", tag: "editor")
        let stranger = try client.signUp(email: uniqueEmail("stranger"))
        let carol = try client.signUp(email: uniqueEmail("carol"))
        let invitation = try Admin.invite(client, owner, id, email: carol.email, role: "viewer")
        let oldToken = try #require(invitation.json["token"]?.stringValue)
        let invitationID = try #require(invitation.json["id"]?.int64Value)
        let path = "/v1/workspaces/invitations/\(invitationID)/resend"

        expectError(try client.request("POST", path, headers: [editor.bearer]), 403, "PERMISSION_DENIED", "editor resends")
        expectError(try client.request("POST", path, headers: [stranger.bearer]), 404, "NOT_FOUND", "stranger resends")
        expectError(try client.request("POST", "/v1/workspaces/invitations/\(invitationID + 1000)/resend",
                                       headers: [owner.bearer]), 404, "NOT_FOUND", "unknown id")
        #expect(try Admin.pending(client, carol).first?["token"]?.stringValue.map { $0 == oldToken } != false,
                "a refused resend changed the token")

        let resent = try client.request("POST", path, headers: [owner.bearer])
        #expect(resent.status == 200, "\(resent.text)")
        Admin.expectInvitationShape(resent.json, "resent")
        let newToken = try #require(resent.json["token"]?.stringValue)
        #expect(newToken != oldToken)
        #expect(resent.json["id"]?.int64Value == invitationID)
        #expect(resent.json["status"]?.stringValue == "pending")
        if let before = Admin.date(invitation.json["expires_at"]), let after = Admin.date(resent.json["expires_at"]) {
            #expect(after >= before)
            #expect(abs(after.timeIntervalSinceNow - 7 * 86_400) < 300)
        }
        #expect(try Admin.pending(client, carol).count == 1, "a resend must not duplicate the invitation")
        expectError(try Admin.accept(client, carol, token: oldToken), 404, "NOT_FOUND", "old token")
        #expect(try Admin.roles(client, owner.bearer, id)[carol.userID] == nil)
        let accepted = try Admin.accept(client, carol, token: newToken)
        #expect(accepted.status == 200, "\(accepted.text)")
        #expect(try Admin.roles(client, owner.bearer, id)[carol.userID] == "viewer")
        expectError(try client.request("POST", path, headers: [owner.bearer]), 409, "INVITATION_NOT_PENDING", "resend accepted")
    }

    @Test("DELETE invitation: 204 by the inviter and by the invitee; 403 for an editor, 404 for a stranger")
    func deleteInvitation() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let (editor, _) = try Admin.join(client, owner: owner, id, role: "editor", tag: "editor")
        let stranger = try client.signUp(email: uniqueEmail("stranger"))
        let carol = try client.signUp(email: uniqueEmail("carol"))
        let dave = try client.signUp(email: uniqueEmail("dave"))
        let toCarol = try Admin.invite(client, owner, id, email: carol.email, role: "viewer")
        let toDave = try Admin.invite(client, owner, id, email: dave.email, role: "viewer")
        let carolID = try #require(toCarol.json["id"]?.int64Value)
        let daveID = try #require(toDave.json["id"]?.int64Value)

        expectError(try client.request("DELETE", "/v1/workspaces/invitations/\(carolID)", headers: [editor.bearer]), 403,
                    "PERMISSION_DENIED", "editor")
        expectError(try client.request("DELETE", "/v1/workspaces/invitations/\(carolID)", headers: [stranger.bearer]), 404,
                    "NOT_FOUND", "stranger")
        expectError(try client.request("DELETE", "/v1/workspaces/invitations/\(carolID)", headers: [dave.bearer]), 404,
                    "NOT_FOUND", "another invitee")
        #expect(try Admin.pending(client, carol).count == 1, "a refused DELETE removed the invitation")

        let byInvitee = try client.request("DELETE", "/v1/workspaces/invitations/\(carolID)", headers: [carol.bearer])
        #expect(byInvitee.status == 204, "\(byInvitee.text)")
        #expect(byInvitee.body.isEmpty)
        #expect(try Admin.pending(client, carol).isEmpty)
        #expect(try Admin.accept(client, carol, token: toCarol.json["token"]?.stringValue ?? "-").status != 200)

        let byInviter = try client.request("DELETE", "/v1/workspaces/invitations/\(daveID)", headers: [owner.bearer])
        #expect(byInviter.status == 204, "\(byInviter.text)")
        #expect(try Admin.pending(client, dave).isEmpty)
        #expect(try Admin.accept(client, dave, token: toDave.json["token"]?.stringValue ?? "-").status != 200)
        #expect(try Admin.roles(client, owner.bearer, id).count == 2)
        expectError(try client.request("DELETE", "/v1/workspaces/invitations/\(daveID + 1000)", headers: [owner.bearer]), 404,
                    "NOT_FOUND", "unknown id")
    }

    @Test("--invites-per-hour 2: the third invite of a workspace → 429 RATE_LIMITED with Retry-After, nothing created")
    func inviteRateLimit() throws {
        let server = try TestServer(["--invites-per-hour", "2"])
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        #expect(try Admin.invite(client, owner, id, email: uniqueEmail("r1"), role: "viewer").status == 201)
        #expect(try Admin.invite(client, owner, id, email: uniqueEmail("r2"), role: "viewer").status == 201)
        let thirdEmail = uniqueEmail("r3")
        let third = try Admin.invite(client, owner, id, email: thirdEmail, role: "viewer")
        expectError(third, 429, "RATE_LIMITED", "third invite")
        let retry = third.header("Retry-After").flatMap { Int($0) }
        #expect(retry != nil && retry! > 0 && retry! <= 3600, "Retry-After \(third.header("Retry-After") ?? "-")")
        let thirdUser = try client.signUp(email: thirdEmail)
        #expect(try Admin.pending(client, thirdUser).isEmpty, "a rate-limited invite was created")
        expectError(try Admin.invite(client, owner, id, email: uniqueEmail("r4"), role: "viewer"), 429, "RATE_LIMITED", "fourth")
        // The rate is per workspace.
        let other = try client.createWorkspace(owner, name: "Other")
        #expect(try Admin.invite(client, owner, other, email: uniqueEmail("o1"), role: "viewer").status == 201,
                "another workspace has its own invitation rate")
    }

    @Test("The invitee accepts one invitation on two connections at once: one 200, one 409, one membership")
    func concurrentAccept() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let port = server.port
        for round in 0..<4 {
            let id = try client.createWorkspace(owner, name: "Race \(round)")
            let invitee = try client.signUp(email: uniqueEmail("racer"))
            let token = try #require(try Admin.invite(client, owner, id, email: invitee.email, role: "editor")
                .json["token"]?.stringValue)
            let access = invitee.accessToken
            let results = Collected<TestResponse>()
            let failures = Collected<String>()
            let barrier = AdminBarrier(parties: 2)
            runOnThreads(2) { _ in
                do {
                    let connection = try HTTPTestClient(port: port)
                    barrier.wait()
                    results.append(try connection.request("POST", "/v1/workspaces/invitations/\(token)/accept",
                                                          headers: [("Authorization", "Bearer \(access)")]))
                } catch {
                    failures.append("\(error)")
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            let statuses = results.all.map(\.status).sorted()
            #expect(statuses == [200, 409], "round \(round): \(results.all.map { "\($0.status) \($0.text.prefix(120))" })")
            if let conflict = results.all.first(where: { $0.status == 409 }) {
                expectError(conflict, 409, "INVITATION_NOT_PENDING", "round \(round), the losing accept")
            }
            let members = try Admin.members(client, owner.bearer, id)
            #expect(members.filter { $0["user_id"]?.int64Value == invitee.userID }.count == 1, "round \(round): \(members)")
            #expect(members.count == 2)
        }
    }
}
