import AtriumJSON
import Foundation
import Testing

/// Walks every operation of `GET /openapi.json` (the table the router is built from) and holds
/// each to the admission rules the pipeline enforces for all of them at once:
/// - a key of each mode, in a workspace whose owner's plan lacks `api_keys`, is refused with
///   `403 FEATURE_UNAVAILABLE` (session-only operations: `403 SESSION_REQUIRED`), and nothing is
///   written;
/// - every call on one row, with a selector naming another workspace the caller can reach,
///   is `404 NOT_FOUND`, and the row is unchanged.
/// An operation without an entry in `calls` fails the walk, so a new endpoint cannot be added
/// without saying how these rules reach it.
@Suite("Admission walk over the endpoint table")
struct AdmissionWalkTests {
    /// How the walk calls one operation: its path parameters (by name → fixture) and body.
    struct Call {
        var parameters: [String: Fixture] = [:]
        var body: String?
        /// Open endpoints take no credential; the walk leaves them alone.
        var open = false
    }

    /// The rows a walk acts on, made before the plan is changed.
    enum Fixture {
        case mainWorkspace, record, webhook, invitation, workspaceKey, accountKey, member, token, collection
    }

    static let calls: [String: Call] = {
        let id = ["id": Fixture.mainWorkspace]
        let data = #"{"data":{"walk":2}}"#
        var table: [String: Call] = [
            "signup": Call(open: true), "login": Call(open: true), "refresh": Call(open: true),
            "healthz": Call(open: true), "readyz": Call(open: true), "metrics": Call(open: true),
            "openapi": Call(open: true),
            "logout": Call(),
            "getMe": Call(), "updateMe": Call(body: #"{"name":"walked"}"#), "listUserWorkspaces": Call(),
            "listWorkspaces": Call(), "createWorkspace": Call(body: #"{"name":"walked"}"#), "getAccount": Call(),
            "getWorkspace": Call(parameters: id), "updateWorkspace": Call(parameters: id, body: #"{"name":"walked"}"#),
            "deleteWorkspace": Call(parameters: id), "listMembers": Call(parameters: id),
            "changeMemberRole": Call(parameters: ["id": .mainWorkspace, "memberId": .member],
                                     body: #"{"role":"viewer"}"#),
            "removeMember": Call(parameters: ["id": .mainWorkspace, "memberId": .member]),
            "transferOwnership": Call(parameters: id, body: #"{"user_id":1}"#),
            "getUsage": Call(parameters: id), "getBilling": Call(parameters: id), "listAuditLog": Call(),
            "inviteMember": Call(parameters: id, body: #"{"email":"walk@example.com","role":"viewer"}"#),
            "listPendingInvitations": Call(), "acceptInvitation": Call(parameters: ["token": .token]),
            "resendInvitation": Call(parameters: ["invitationId": .invitation]),
            "revokeInvitation": Call(parameters: ["invitationId": .invitation]),
            "listAPIKeys": Call(), "createAPIKey": Call(body: #"{"name":"walked","mode":"full"}"#),
            "updateAPIKey": Call(parameters: ["keyId": .accountKey], body: #"{"name":"walked","mode":"full"}"#),
            "deleteAPIKey": Call(parameters: ["keyId": .accountKey]),
            "listWorkspaceKeys": Call(parameters: id),
            "createWorkspaceKey": Call(parameters: id, body: #"{"name":"walked"}"#),
            "updateWorkspaceKey": Call(parameters: ["id": .mainWorkspace, "keyId": .workspaceKey],
                                       body: #"{"name":"walked"}"#),
            "deleteWorkspaceKey": Call(parameters: ["id": .mainWorkspace, "keyId": .workspaceKey]),
            "listWebhooks": Call(), "createWebhook": Call(body: #"{"url":"http://127.0.0.1:9/w","events":["*"]}"#),
            "getWebhook": Call(parameters: ["id": .webhook]),
            "updateWebhook": Call(parameters: ["id": .webhook], body: #"{"description":"walked","active":true}"#),
            "deleteWebhook": Call(parameters: ["id": .webhook]),
            "rotateWebhookSecret": Call(parameters: ["id": .webhook]),
            "listDeliveries": Call(parameters: ["id": .webhook]),
            "listEvents": Call(), "streamEvents": Call(),
        ]
        let collection = ["collection": Fixture.collection]
        table["createRecord"] = Call(parameters: collection, body: data)
        table["listRecords"] = Call(parameters: collection)
        table["getRecord"] = Call(parameters: ["id": .record])
        table["updateRecord"] = Call(parameters: ["id": .record], body: data)
        table["replaceRecord"] = Call(parameters: ["id": .record], body: data)
        table["deleteRecord"] = Call(parameters: ["id": .record])
        return table
    }()

    /// One operation of the document.
    struct Operation {
        let method: String
        let path: String
        let id: String
        let sessionOnly: Bool
        let open: Bool
        let parameters: Set<String>
    }

    static func operations(_ client: HTTPTestClient) throws -> [Operation] {
        let document = try client.request("GET", "/openapi.json").json
        var result: [Operation] = []
        for (path, item) in document["paths"]?.objectValue ?? JSONObject() {
            for (method, operation) in item.objectValue ?? JSONObject() {
                let security = operation["security"]?.arrayValue ?? []
                let schemes = security.flatMap { $0.objectValue.map { $0.map(\.0) } ?? [] }
                let names = (operation["parameters"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
                result.append(Operation(method: method.uppercased(), path: path,
                                        id: operation["operationId"]?.stringValue ?? "?",
                                        sessionOnly: schemes == ["sessionToken"], open: security.isEmpty,
                                        parameters: Set(names)))
            }
        }
        return result
    }

    /// The state a refused request must leave as it was, read with the owner's session.
    static func snapshot(_ client: HTTPTestClient, _ owner: TestAccount, workspaceID: Int64,
                         webhookID: Int64) throws -> [String] {
        let paths = ["/v1/audit-log?limit=100", "/v1/collections/walk/records?limit=100", "/v1/webhooks",
                     "/v1/webhooks/\(webhookID)", "/v1/workspaces/\(workspaceID)",
                     "/v1/workspaces/\(workspaceID)/members", "/v1/api-keys", "/v1/workspaces/\(workspaceID)/api-keys",
                     "/v1/user/workspaces", "/v1/me"]
        return try paths.map { path in
            let response = try client.request("GET", path, headers: [owner.bearer])
            // Key use is recorded on authentication, refused or not; everything else must hold.
            return path + " " + String(response.status) + " "
                + response.text.replacingOccurrences(of: #""last_used_at":"[^"]*""#, with: "", options: .regularExpression)
        }
    }

    /// The rows every walk needs, in the owner's main workspace.
    struct Fixtures {
        var values: [Fixture: String] = [:]
        var webhookID: Int64 = 0

        func path(for operation: Operation, call: Call) -> String {
            var path = operation.path
            for (name, fixture) in call.parameters { path = path.replacingOccurrences(of: "{\(name)}", with: values[fixture] ?? "") }
            return path
        }
    }

    static func makeFixtures(_ client: HTTPTestClient, owner: TestAccount, guest: TestAccount) throws -> Fixtures {
        let main = owner.mainWorkspaceID
        var fixtures = Fixtures()
        fixtures.values[.mainWorkspace] = String(main)
        fixtures.values[.collection] = "walk"
        let record = try client.request("POST", "/v1/collections/walk/records", headers: [owner.bearer],
                                        body: #"{"data":{"walk":1}}"#)
        fixtures.values[.record] = try #require(record.json["id"]?.int64Value.map(String.init), "\(record.text)")
        let webhook = try client.request("POST", "/v1/webhooks", headers: [owner.bearer],
                                         body: #"{"url":"http://127.0.0.1:9/hook","events":["*"],"active":false}"#)
        fixtures.webhookID = try #require(webhook.json["id"]?.int64Value, "\(webhook.text)")
        fixtures.values[.webhook] = String(fixtures.webhookID)
        let invitation = try client.request("POST", "/v1/workspaces/\(main)/members/invite", headers: [owner.bearer],
                                            body: #"{"email":"invited-\#(UUID().uuidString.prefix(8))@example.com","role":"viewer"}"#)
        fixtures.values[.invitation] = try #require(invitation.json["id"]?.int64Value.map(String.init), "\(invitation.text)")
        fixtures.values[.token] = try #require(invitation.json["token"]?.stringValue, "\(invitation.text)")
        let memberID = try client.join(guest, workspaceID: main, owner: owner, role: "editor")
        fixtures.values[.member] = String(memberID)
        let key = try client.createWorkspaceKey(owner, workspaceID: main)
        fixtures.values[.workspaceKey] = String(key.id)
        fixtures.values[.accountKey] = String(try client.createKey(owner, mode: "full").id)
        return fixtures
    }

    @Test("Every credentialed operation refuses a key of each mode into a workspace whose owner's plan lacks api_keys, writing nothing")
    func keysAreGatedOnEveryOperation() throws {
        let plans = try Admin.writePlansFile(
            #"{"default":"pro","plans":{"free":{"features":["webhooks"]},"pro":{"features":["api_keys","webhooks"]}}}"#)
        defer { try? FileManager.default.removeItem(atPath: plans) }
        let server = try TestServer(["--plans-file", plans, "--webhook-allow-private", "true"])
        let client = try server.client()
        let owner = try client.signUp()
        let guest = try client.signUp()
        let main = owner.mainWorkspaceID
        let fixtures = try Self.makeFixtures(client, owner: owner, guest: guest)
        let keys = [
            ("workspace", try client.createWorkspaceKey(owner, workspaceID: main).secret),
            ("full", try client.createKey(owner, mode: "full").secret),
            ("scoped", try client.createKey(owner, mode: "scoped", workspaceIDs: [main]).secret),
        ]
        // Each key works while the plan has the feature: the refusals below are the gate's.
        for (mode, secret) in keys {
            #expect(try client.request("GET", "/v1/records/\(fixtures.values[.record] ?? "")",
                                       headers: [bearer(secret)]).status == 200, "\(mode) key before the plan change")
        }
        try Admin.cliSetPlan(email: owner.email, plan: "free", server: server, plansFile: plans)
        let before = try Self.snapshot(client, owner, workspaceID: main, webhookID: fixtures.webhookID)

        let operations = try Self.operations(client)
        #expect(operations.count >= 45, "the walk found too few operations: \(operations.count)")
        for operation in operations {
            guard let call = Self.calls[operation.id] else {
                Issue.record("\(operation.method) \(operation.path) (\(operation.id)) has no entry in the admission walk")
                continue
            }
            if call.open || operation.open {
                #expect(call.open && operation.open, "\(operation.id): open in one table only")
                continue
            }
            let path = fixtures.path(for: operation, call: call)
            for (mode, secret) in keys {
                let response = try client.request(operation.method, path, headers: [bearer(secret)], body: call.body)
                let expected = operation.sessionOnly ? "SESSION_REQUIRED" : "FEATURE_UNAVAILABLE"
                expectError(response, 403, expected, "\(mode) key: \(operation.method) \(path)")
            }
        }
        let after = try Self.snapshot(client, owner, workspaceID: main, webhookID: fixtures.webhookID)
        for (old, new) in zip(before, after) { #expect(old == new, "a refused request changed state") }
    }

    @Test("Every call on one row answers 404 when the selector names another reachable workspace, and leaves the row")
    func rowCallsRefuseAnotherWorkspace() throws {
        let server = try TestServer(["--webhook-allow-private", "true"])
        let client = try server.client()
        let owner = try client.signUp()
        let guest = try client.signUp()
        let main = owner.mainWorkspaceID
        let other = try client.createWorkspace(owner, name: "Other")
        let fixtures = try Self.makeFixtures(client, owner: owner, guest: guest)
        let credentials = [
            ("jwt", owner.bearer),
            ("full key", bearer(try client.createKey(owner, mode: "full").secret)),
            ("scoped key", bearer(try client.createKey(owner, mode: "scoped", workspaceIDs: [main, other]).secret)),
        ]
        let before = try Self.snapshot(client, owner, workspaceID: main, webhookID: fixtures.webhookID)
        let rowOperations = try Self.operations(client).filter { operation in
            operation.parameters.contains("X-Workspace-ID")
                && (operation.path.contains("{id}") || operation.path.contains("{invitationId}"))
        }
        #expect(rowOperations.count >= 11, "the walk found too few row operations: \(rowOperations.count)")
        for operation in rowOperations {
            guard let call = Self.calls[operation.id] else {
                Issue.record("\(operation.method) \(operation.path) (\(operation.id)) has no entry in the admission walk")
                continue
            }
            let path = fixtures.path(for: operation, call: call)
            for (name, credential) in credentials where !(operation.sessionOnly && name != "jwt") {
                for selector in [[("X-Workspace-ID", String(other))], []] {
                    let target = selector.isEmpty ? path + "?workspace_id=\(other)" : path
                    let response = try client.request(operation.method, target, headers: [credential] + selector,
                                                      body: call.body)
                    expectError(response, 404, "NOT_FOUND", "\(name): \(operation.method) \(target) \(selector)")
                }
            }
        }
        let after = try Self.snapshot(client, owner, workspaceID: main, webhookID: fixtures.webhookID)
        for (old, new) in zip(before, after) { #expect(old == new, "a refused row call changed state") }
    }
}
