import AtriumJSON
import Foundation
import Testing

/// Limits and plans (api.md §5, server.md "Plans"): per-user workspaces, members per
/// workspace, features of the owner's plan, billing, usage and the account view.
@Suite struct PlanLimitTests {
    @Test("--max-workspaces-per-user 2: Main + one more; the next POST → 403 LIMIT_REACHED; joined ones count too")
    func workspacesPerUser() throws {
        let server = try TestServer(["--max-workspaces-per-user", "2"])
        let client = try server.client()
        let owner = try client.signUp()
        let second = try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: #"{"name":"Second"}"#)
        #expect(second.status == 201, "\(second.text)")
        expectError(try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: #"{"name":"Third"}"#), 403,
                    "LIMIT_REACHED", "third workspace")
        #expect(try client.workspaceIDs(owner).count == 2, "a refused create left a workspace")
        // Deleting one frees the slot.
        let secondID = try #require(second.json["id"]?.int64Value)
        #expect(try client.request("DELETE", "/v1/workspaces/\(secondID)", headers: [owner.bearer]).status == 204)
        #expect(try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: #"{"name":"Again"}"#).status == 201)

        // A joined workspace counts: Main + one joined = 2, so no new one.
        let joiner = try client.signUp(email: uniqueEmail("joiner"))
        try Admin.join(client, owner: owner, owner.mainWorkspaceID, role: "viewer", account: joiner)
        expectError(try client.request("POST", "/v1/workspaces", headers: [joiner.bearer], body: #"{"name":"Mine"}"#), 403,
                    "LIMIT_REACHED", "Main + joined")
        #expect(try client.workspaceIDs(joiner).count == 2)
    }

    @Test("--max-workspaces-per-user 2 is checked on accept: 403 LIMIT_REACHED, no membership, still pending")
    func workspacesPerUserOnAccept() throws {
        let server = try TestServer(["--max-workspaces-per-user", "2"])
        let client = try server.client()
        let host = try client.signUp(email: uniqueEmail("host"))
        let full = try client.signUp(email: uniqueEmail("full"))
        let extra = try client.createWorkspace(full, name: "Extra")
        let invitation = try Admin.invite(client, host, host.mainWorkspaceID, email: full.email, role: "editor")
        #expect(invitation.status == 201, "the limit is the invitee's, checked on accept: \(invitation.text)")
        let token = try #require(invitation.json["token"]?.stringValue)
        expectError(try Admin.accept(client, full, token: token), 403, "LIMIT_REACHED", "accept over the limit")
        #expect(try Admin.roles(client, host.bearer, host.mainWorkspaceID)[full.userID] == nil)
        #expect(try client.workspaceIDs(full).count == 2)
        #expect(try Admin.pending(client, full).count == 1, "a refused accept consumed the invitation")
        // Freeing a slot lets the same invitation through.
        #expect(try client.request("DELETE", "/v1/workspaces/\(extra)", headers: [full.bearer]).status == 204)
        let accepted = try Admin.accept(client, full, token: token)
        #expect(accepted.status == 200, "\(accepted.text)")
        #expect(try Admin.roles(client, host.bearer, host.mainWorkspaceID)[full.userID] == "editor")
    }

    @Test("--max-members-per-workspace 2: members + pending invitations over the limit → 403 LIMIT_REACHED at invite")
    func membersPerWorkspace() throws {
        let server = try TestServer(["--max-members-per-workspace", "2"])
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner)
        let bob = try client.signUp(email: uniqueEmail("bob"))
        let carol = try client.signUp(email: uniqueEmail("carol"))
        let toBob = try Admin.invite(client, owner, id, email: bob.email, role: "editor")
        #expect(toBob.status == 201, "owner + one pending = 2: \(toBob.text)")
        expectError(try Admin.invite(client, owner, id, email: carol.email, role: "editor"), 403, "LIMIT_REACHED",
                    "owner + pending + one more")
        #expect(try Admin.pending(client, carol).isEmpty, "a refused invite was created")
        #expect(try Admin.accept(client, bob, token: toBob.json["token"]?.stringValue ?? "-").status == 200)
        #expect(try Admin.members(client, owner.bearer, id).count == 2)
        expectError(try Admin.invite(client, owner, id, email: carol.email, role: "viewer"), 403, "LIMIT_REACHED",
                    "two members")
        #expect(try Admin.pending(client, carol).isEmpty)
        // A revoked invitation or a departed member frees the slot.
        let bobMember = try Admin.memberID(client, owner.bearer, id, userID: bob.userID)
        #expect(try Admin.removeMember(client, bob, id, memberID: bobMember).status == 204)
        let toCarol = try Admin.invite(client, owner, id, email: carol.email, role: "viewer")
        #expect(toCarol.status == 201, "\(toCarol.text)")
        let carolInvitation = try #require(toCarol.json["id"]?.int64Value)
        #expect(try client.request("DELETE", "/v1/workspaces/invitations/\(carolInvitation)", headers: [owner.bearer]).status
            == 204)
        #expect(try Admin.invite(client, owner, id, email: bob.email, role: "viewer").status == 201)
    }

    @Test("Limits hold under concurrency: 6 simultaneous creates/invites against limits leave exactly the limit")
    func limitsUnderConcurrency() throws {
        let server = try TestServer(["--max-workspaces-per-user", "3", "--max-members-per-workspace", "3"])
        let client = try server.client()
        let owner = try client.signUp()
        let port = server.port
        let token = owner.accessToken

        // Workspaces: Main + 2 more allowed.
        let creates = Collected<TestResponse>()
        let barrier = AdminBarrier(parties: 6)
        runOnThreads(6) { index in
            guard let connection = try? HTTPTestClient(port: port) else { return }
            barrier.wait()
            if let response = try? connection.request("POST", "/v1/workspaces", headers: [("Authorization", "Bearer \(token)")],
                                                       body: #"{"name":"race \#(index)"}"#) {
                creates.append(response)
            }
        }
        #expect(creates.all.count == 6)
        #expect(creates.all.filter { $0.status == 201 }.count == 2, "\(creates.all.map(\.status))")
        for refused in creates.all where refused.status != 201 { expectError(refused, 403, "LIMIT_REACHED", "racing create") }
        #expect(try client.workspaceIDs(owner).count == 3)

        // Members: owner + 2 (members and pending invitations together).
        let id = owner.mainWorkspaceID
        let invites = Collected<TestResponse>()
        let inviteBarrier = AdminBarrier(parties: 6)
        runOnThreads(6) { index in
            guard let connection = try? HTTPTestClient(port: port) else { return }
            inviteBarrier.wait()
            if let response = try? connection.request("POST", "/v1/workspaces/\(id)/members/invite",
                                                       headers: [("Authorization", "Bearer \(token)")],
                                                       body: #"{"email":"race-\#(index)-\#(port)@example.com","role":"viewer"}"#) {
                invites.append(response)
            }
        }
        #expect(invites.all.count == 6)
        #expect(invites.all.filter { $0.status == 201 }.count == 2, "\(invites.all.map(\.status))")
        for refused in invites.all where refused.status != 201 { expectError(refused, 403, "LIMIT_REACHED", "racing invite") }

        // Invitation rate: 3 per hour, 6 at once → exactly 3.
        let rateServer = try TestServer(["--invites-per-hour", "3"])
        let rateClient = try rateServer.client()
        let inviter = try rateClient.signUp()
        let ratePort = rateServer.port
        let inviterToken = inviter.accessToken
        let rateWorkspace = inviter.mainWorkspaceID
        let rated = Collected<TestResponse>()
        let rateBarrier = AdminBarrier(parties: 6)
        runOnThreads(6) { index in
            guard let connection = try? HTTPTestClient(port: ratePort) else { return }
            rateBarrier.wait()
            if let response = try? connection.request("POST", "/v1/workspaces/\(rateWorkspace)/members/invite",
                                                       headers: [("Authorization", "Bearer \(inviterToken)")],
                                                       body: #"{"email":"rate-\#(index)-\#(ratePort)@example.com","role":"viewer"}"#) {
                rated.append(response)
            }
        }
        #expect(rated.all.count == 6)
        #expect(rated.all.filter { $0.status == 201 }.count == 3, "\(rated.all.map(\.status))")
        for refused in rated.all where refused.status != 201 { expectError(refused, 429, "RATE_LIMITED", "racing invite rate") }
    }

    @Test("Members + pending over the limit is checked again on accept: the owner's plan shrank → 403 LIMIT_REACHED")
    func membersLimitOnAccept() throws {
        let plans = try Admin.writePlansFile(#"{"default":"roomy","plans":{"roomy":{"max_members_per_workspace":3,"features":["api_keys","webhooks"]},"tight":{"max_members_per_workspace":1,"features":["api_keys","webhooks"]}}}"#)
        defer { try? FileManager.default.removeItem(atPath: plans) }
        let server = try TestServer(["--plans-file", plans])
        let client = try server.client()
        let owner = try client.signUp(email: uniqueEmail("shrinking"))
        let bob = try client.signUp(email: uniqueEmail("bob"))
        let invitation = try Admin.invite(client, owner, owner.mainWorkspaceID, email: bob.email, role: "editor")
        #expect(invitation.status == 201, "\(invitation.text)")
        try Admin.cliSetPlan(email: owner.email, plan: "tight", server: server, plansFile: plans)
        let billing = try client.request("GET", "/v1/workspaces/\(owner.mainWorkspaceID)/billing", headers: [owner.bearer])
        #expect(billing.json["plan"]?.stringValue == "tight", "\(billing.text)")
        #expect(billing.json["limits"]?["max_members_per_workspace"]?.int64Value == 1, "\(billing.text)")
        expectError(try Admin.accept(client, bob, token: invitation.json["token"]?.stringValue ?? "-"), 403, "LIMIT_REACHED",
                    "accept over the owner's member limit")
        #expect(try Admin.members(client, owner.bearer, owner.mainWorkspaceID).count == 1)
        expectError(try Admin.invite(client, owner, owner.mainWorkspaceID, email: uniqueEmail("carol"), role: "viewer"), 403,
                    "LIMIT_REACHED", "invite on the tight plan")
    }

    @Test("Plans file: free has no api_keys (403 FEATURE_UNAVAILABLE for creating, updating and using keys), deleting is allowed; set-plan pro lifts it")
    func planFeatures() throws {
        let plans = try Admin.writePlansFile(Admin.freeAndProPlans)
        defer { try? FileManager.default.removeItem(atPath: plans) }
        let server = try TestServer(["--plans-file", plans])
        let client = try server.client()
        let owner = try client.signUp(email: uniqueEmail("free-owner"))
        let main = owner.mainWorkspaceID

        // The free plan's workspace limit (1) leaves room for Main only.
        expectError(try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: #"{"name":"Two"}"#), 403,
                    "LIMIT_REACHED", "free: second workspace")

        let billing = try client.request("GET", "/v1/workspaces/\(main)/billing", headers: [owner.bearer])
        #expect(billing.status == 200, "\(billing.text)")
        #expect(billing.json["owner_id"]?.int64Value == owner.userID)
        #expect(billing.json["plan"]?.stringValue == "free")
        #expect(Admin.isObject(billing.json["limits"]), "\(billing.text)")
        #expect(billing.json["limits"]?["max_workspaces_per_user"]?.int64Value == 1, "\(billing.text)")
        #expect(billing.json["features"]?.arrayValue == [], "\(billing.text)")

        // Creating a workspace key: refused, nothing created.
        expectError(try client.request("POST", "/v1/workspaces/\(main)/api-keys", headers: [owner.bearer],
                                       body: #"{"name":"nope"}"#), 403, "FEATURE_UNAVAILABLE", "free: create workspace key")
        let listed = try client.request("GET", "/v1/workspaces/\(main)/api-keys", headers: [owner.bearer])
        #expect(listed.status == 200, "listing keys stays possible so that leaked ones can be found: \(listed.text)")
        #expect(listed.json["data"]?.arrayValue?.isEmpty == true)

        // A key made by the admin CLI cannot be used into the workspace...
        let secret = try Admin.cliCreateFullKey(email: owner.email, server: server, plansFile: plans)
        expectError(try client.request("GET", recordsPath, headers: [bearer(secret)]), 403, "FEATURE_UNAVAILABLE",
                    "free: full key lists records")
        expectError(try client.request("GET", recordsPath, headers: [bearer(secret), ("X-Workspace-ID", String(main))]), 403,
                    "FEATURE_UNAVAILABLE", "free: full key with header")
        expectError(try client.request("POST", recordsPath, headers: [bearer(secret)], body: #"{"data":{"k":1}}"#), 403,
                    "FEATURE_UNAVAILABLE", "free: full key writes")
        expectError(try client.request("GET", "/v1/workspaces/\(main)", headers: [bearer(secret)]), 403, "FEATURE_UNAVAILABLE",
                    "free: full key reads the workspace")
        #expect(try Admin.listRecords(client, owner.bearer, main).json["data"]?.arrayValue?.isEmpty == true)
        // ... nor can a workspace-mode one, which cannot be updated either; deleting it is allowed.
        let boundRun = try Admin.cli(["key", "create", "--email", owner.email, "--mode", "workspace", "--workspace", String(main)],
                                     server: server, plansFile: plans)
        let boundSecret = boundRun.stdout.split(whereSeparator: \.isNewline).last { $0.hasPrefix("atr_") }.map(String.init)
        #expect(boundRun.status == 0 && boundSecret != nil, "\(boundRun.stdout) \(boundRun.stderr)")
        if let boundSecret {
            expectError(try client.request("GET", recordsPath, headers: [bearer(boundSecret)]), 403, "FEATURE_UNAVAILABLE",
                        "free: workspace key")
            let keys = try client.request("GET", "/v1/workspaces/\(main)/api-keys", headers: [owner.bearer])
            let bound = (keys.json["data"]?.arrayValue ?? []).first { $0["prefix"]?.stringValue == String(boundSecret.prefix(12)) }
            let boundID = try #require(bound?["id"]?.int64Value, "the CLI key is not listed: \(keys.text)")
            expectError(try client.request("PUT", "/v1/workspaces/\(main)/api-keys/\(boundID)", headers: [owner.bearer],
                                           body: #"{"name":"renamed"}"#), 403, "FEATURE_UNAVAILABLE", "free: update key")
            let afterPut = try client.request("GET", "/v1/workspaces/\(main)/api-keys", headers: [owner.bearer])
            #expect(!afterPut.text.contains("renamed"), "a refused update renamed the key")
            let deleted = try client.request("DELETE", "/v1/workspaces/\(main)/api-keys/\(boundID)", headers: [owner.bearer])
            #expect(deleted.status == 204, "deleting a key is always allowed: \(deleted.text)")
            expectError(try client.request("GET", recordsPath, headers: [bearer(boundSecret)]), 401, "INVALID_TOKEN",
                        "deleted key")
        }
        // The account-level key can be deleted on free too.
        let ownKeys = try client.accountKeys(owner)
        let fullID = try #require(ownKeys.first { $0["prefix"]?.stringValue == String(secret.prefix(12)) }?["id"]?.int64Value,
                                  "the CLI key is not listed: \(ownKeys)")
        let deletedFull = try client.request("DELETE", "/v1/api-keys/\(fullID)", headers: [owner.bearer])
        #expect(deletedFull.status == 204, "deleting a key is always allowed: \(deletedFull.text)")
        expectError(try client.request("GET", recordsPath, headers: [bearer(secret)]), 401, "INVALID_TOKEN", "deleted full key")

        // set-plan pro lifts it on the very next request.
        let second = try Admin.cliCreateFullKey(email: owner.email, server: server, plansFile: plans)
        try Admin.cliSetPlan(email: owner.email, plan: "pro", server: server, plansFile: plans)
        let records = try client.request("GET", recordsPath, headers: [bearer(second)])
        #expect(records.status == 200, "pro: key lists records: \(records.text)")
        let created = try client.request("POST", "/v1/workspaces/\(main)/api-keys", headers: [owner.bearer], body: #"{"name":"pro"}"#)
        #expect(created.status == 201, "pro: create workspace key: \(created.text)")
        let proBilling = try client.request("GET", "/v1/workspaces/\(main)/billing", headers: [owner.bearer])
        #expect(proBilling.json["plan"]?.stringValue == "pro", "\(proBilling.text)")
        let features = Set((proBilling.json["features"]?.arrayValue ?? []).compactMap(\.stringValue))
        #expect(features == ["api_keys", "webhooks"], "\(proBilling.text)")
        let proLimit = proBilling.json["limits"]?["max_workspaces_per_user"]
        #expect(proLimit == nil || proLimit == .null, "pro has no workspace limit: \(proBilling.text)")
        #expect(try client.request("POST", "/v1/workspaces", headers: [owner.bearer], body: #"{"name":"Two"}"#).status == 201)
    }

    @Test("Plans are the owner's: a pro member gets 403 FEATURE_UNAVAILABLE in a free owner's workspace; free accept → 403 LIMIT_REACHED")
    func ownersPlanGoverns() throws {
        let plans = try Admin.writePlansFile(Admin.freeAndProPlans)
        defer { try? FileManager.default.removeItem(atPath: plans) }
        let server = try TestServer(["--plans-file", plans])
        let client = try server.client()
        let owner = try client.signUp(email: uniqueEmail("free-owner"))
        let freeGuest = try client.signUp(email: uniqueEmail("free-guest"))
        let proGuest = try client.signUp(email: uniqueEmail("pro-guest"))

        // A free user (limit 1, Main) cannot accept an invitation.
        let toFree = try Admin.invite(client, owner, owner.mainWorkspaceID, email: freeGuest.email, role: "admin")
        #expect(toFree.status == 201, "\(toFree.text)")
        expectError(try Admin.accept(client, freeGuest, token: toFree.json["token"]?.stringValue ?? "-"), 403, "LIMIT_REACHED",
                    "free guest accepts")
        #expect(try Admin.roles(client, owner.bearer, owner.mainWorkspaceID)[freeGuest.userID] == nil)

        // A pro user can, but inside the free owner's workspace the owner's plan governs.
        try Admin.cliSetPlan(email: proGuest.email, plan: "pro", server: server, plansFile: plans)
        try Admin.join(client, owner: owner, owner.mainWorkspaceID, role: "admin", account: proGuest)
        expectError(try client.request("POST", "/v1/workspaces/\(owner.mainWorkspaceID)/api-keys", headers: [proGuest.bearer],
                                       body: #"{"name":"x"}"#), 403, "FEATURE_UNAVAILABLE", "pro admin in a free workspace")
        let billing = try client.request("GET", "/v1/workspaces/\(owner.mainWorkspaceID)/billing", headers: [proGuest.bearer])
        #expect(billing.json["plan"]?.stringValue == "free" && billing.json["owner_id"]?.int64Value == owner.userID,
                "\(billing.text)")
        let proKey = try Admin.cliCreateFullKey(email: proGuest.email, server: server, plansFile: plans)
        #expect(try client.request("GET", recordsPath, headers: [bearer(proKey)]).status == 200, "pro key in its own Main")
        expectError(try client.request("GET", recordsPath,
                                       headers: [bearer(proKey), ("X-Workspace-ID", String(owner.mainWorkspaceID))]), 403,
                    "FEATURE_UNAVAILABLE", "pro key into the free owner's workspace")
        let ownBilling = try client.request("GET", "/v1/workspaces/\(proGuest.mainWorkspaceID)/billing", headers: [proGuest.bearer])
        #expect(ownBilling.json["plan"]?.stringValue == "pro")
        let account = try client.request("GET", "/v1/account", headers: [proGuest.bearer])
        #expect(account.json["plan"]?.stringValue == "pro", "\(account.text)")
    }

    @Test("Usage {records, members, api_keys, webhooks, requests_30d, storage_bytes}, billing and /v1/account on the default plan")
    func usageBillingAccount() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let id = try client.createWorkspace(owner, name: "Measured")
        let usagePath = "/v1/workspaces/\(id)/usage"

        let initial = try client.request("GET", usagePath, headers: [owner.bearer])
        #expect(initial.status == 200, "\(initial.text)")
        for field in ["records", "members", "api_keys", "webhooks", "requests_30d", "storage_bytes"] {
            #expect((initial.json[field]?.int64Value ?? -1) >= 0, "usage.\(field) in \(initial.text)")
        }
        #expect(initial.json["records"]?.int64Value == 0)
        #expect(initial.json["members"]?.int64Value == 1)
        #expect(initial.json["api_keys"]?.int64Value == 0)
        #expect(initial.json["webhooks"]?.int64Value == 0)

        var recordIDs: [Int64] = []
        for n in 0..<3 {
            let created = try Admin.createRecord(client, owner.bearer, id,
                                                 data: #"{"n":\#(n),"text":"\#(String(repeating: "u", count: 500))"}"#)
            recordIDs.append(try #require(created.json["id"]?.int64Value, "\(created.text)"))
        }
        let afterThree = try client.request("GET", usagePath, headers: [owner.bearer])
        #expect(afterThree.json["records"]?.int64Value == 3, "\(afterThree.text)")
        let storageThree = afterThree.json["storage_bytes"]?.int64Value ?? 0
        #expect(storageThree >= 1500, "three 500-byte records: \(afterThree.text)")
        // Request counts may lag a little behind (batched), but they must arrive.
        var requests: Int64 = 0
        _ = Wire.eventually(timeout: 15) {
            requests = (try? client.request("GET", usagePath, headers: [owner.bearer]))?.json["requests_30d"]?.int64Value ?? 0
            if requests == 0 { usleep(200_000) }
            return requests > 0
        }
        #expect(requests > 0, "requests_30d stays 0 after requests into the workspace: \(afterThree.text)")

        _ = try Admin.createRecord(client, owner.bearer, id, data: #"{"big":"\#(String(repeating: "b", count: 10_000))"}"#)
        let afterBig = try client.request("GET", usagePath, headers: [owner.bearer])
        #expect(afterBig.json["records"]?.int64Value == 4)
        #expect((afterBig.json["storage_bytes"]?.int64Value ?? 0) >= storageThree + 10_000, "\(afterBig.text)")

        _ = try client.createWorkspaceKey(owner, workspaceID: id)
        let (member, _) = try Admin.join(client, owner: owner, id, role: "admin")
        #expect(try client.request("DELETE", "/v1/records/\(recordIDs[0])", headers: [owner.bearer]).status == 204)
        let later = try client.request("GET", usagePath, headers: [member.bearer])
        #expect(later.status == 200)
        #expect(later.json["records"]?.int64Value == 3, "\(later.text)")
        #expect(later.json["members"]?.int64Value == 2, "\(later.text)")
        #expect(later.json["api_keys"]?.int64Value == 1, "\(later.text)")
        #expect((later.json["storage_bytes"]?.int64Value ?? 0) < (afterBig.json["storage_bytes"]?.int64Value ?? 0),
                "deleting a record frees storage: \(later.text)")
        // Another workspace's usage is its own.
        let mainUsage = try client.request("GET", "/v1/workspaces/\(owner.mainWorkspaceID)/usage", headers: [owner.bearer])
        #expect(mainUsage.json["records"]?.int64Value == 0, "\(mainUsage.text)")

        // Billing on the default plan (no plans file): plan "default" with every feature.
        let billing = try client.request("GET", "/v1/workspaces/\(id)/billing", headers: [member.bearer])
        #expect(billing.status == 200, "\(billing.text)")
        #expect(billing.json["owner_id"]?.int64Value == owner.userID)
        #expect(billing.json["plan"]?.stringValue == "default", "\(billing.text)")
        #expect(Admin.isObject(billing.json["limits"]))
        let features = Set((billing.json["features"]?.arrayValue ?? []).compactMap(\.stringValue))
        #expect(features.isSuperset(of: ["api_keys", "webhooks"]), "\(billing.text)")

        // /v1/account: summed over owned workspaces, whichever workspace is resolved.
        let account = try client.request("GET", "/v1/account", headers: [owner.bearer])
        #expect(account.status == 200, "\(account.text)")
        #expect(account.json["user_id"]?.int64Value == owner.userID)
        #expect(account.json["plan"]?.stringValue == "default")
        #expect(Admin.isObject(account.json["limits"]))
        #expect(account.json["features"]?.arrayValue != nil)
        let usage = account.json["usage"]
        #expect(usage?["workspaces_owned"]?.int64Value == 2, "\(account.text)")
        #expect(usage?["workspaces_joined"]?.int64Value == 0, "\(account.text)")
        #expect(usage?["records"]?.int64Value == 3, "\(account.text)")
        #expect((usage?["storage_bytes"]?.int64Value ?? 0) > 0)
        #expect((usage?["requests_30d"]?.int64Value ?? -1) >= 0)
        let viaOther = try client.request("GET", "/v1/account", headers: [owner.bearer, ("X-Workspace-ID", String(id))])
        #expect(viaOther.status == 200)
        for field in ["workspaces_owned", "workspaces_joined", "records", "storage_bytes"] {
            #expect(viaOther.json["usage"]?[field] == usage?[field], "account.\(field) depends on the resolved workspace")
        }
        let memberAccount = try client.request("GET", "/v1/account", headers: [member.bearer])
        #expect(memberAccount.json["user_id"]?.int64Value == member.userID)
        #expect(memberAccount.json["usage"]?["workspaces_owned"]?.int64Value == 1, "\(memberAccount.text)")
        #expect(memberAccount.json["usage"]?["workspaces_joined"]?.int64Value == 1, "\(memberAccount.text)")
        #expect(memberAccount.json["usage"]?["records"]?.int64Value == 0, "joined workspaces are not summed")
        let key = try client.createKey(member, mode: "full")
        let byKey = try client.request("GET", "/v1/account", headers: [bearer(key.secret)])
        #expect(byKey.status == 200 && byKey.json["user_id"]?.int64Value == member.userID, "any credential: \(byKey.text)")
    }
}
