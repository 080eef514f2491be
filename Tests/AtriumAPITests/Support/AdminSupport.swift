import AtriumJSON
import Foundation
import Glibc
import Testing

// Helpers for the workspace administration tests (api.md §5 and the audit log of §6):
// WorkspaceAdminTests, InvitationTests, RolePermissionTests, PlanLimitTests, AuditLogTests.
// Everything lives in the `Admin` namespace so that it cannot collide with other helpers.

enum Admin {
    /// The four roles of api.md §5, strongest first.
    static let roles = ["owner", "admin", "editor", "viewer"]

    // MARK: Requests

    /// `GET /v1/workspaces/{id}`.
    static func workspace(_ client: HTTPTestClient, _ header: (String, String), _ workspaceID: Int64) throws -> TestResponse {
        try client.request("GET", "/v1/workspaces/\(workspaceID)", headers: [header])
    }

    /// `POST /v1/workspaces/{id}/members/invite`.
    static func invite(_ client: HTTPTestClient, _ by: TestAccount, _ workspaceID: Int64, email: String,
                       role: String = "editor") throws -> TestResponse {
        try client.request("POST", "/v1/workspaces/\(workspaceID)/members/invite", headers: [by.bearer],
                           body: #"{"email":\#(jsonString(email)),"role":\#(jsonString(role))}"#)
    }

    /// `POST /v1/workspaces/invitations/{token}/accept`.
    static func accept(_ client: HTTPTestClient, _ account: TestAccount, token: String) throws -> TestResponse {
        try client.request("POST", "/v1/workspaces/invitations/\(token)/accept", headers: [account.bearer])
    }

    /// `GET /v1/workspaces/invitations/pending` → its `data`.
    static func pending(_ client: HTTPTestClient, _ account: TestAccount) throws -> [JSONValue] {
        let response = try client.request("GET", "/v1/workspaces/invitations/pending", headers: [account.bearer])
        guard response.status == 200 else { throw TestFailure("pending failed: \(response.status) \(response.text)") }
        return response.json["data"]?.arrayValue ?? []
    }

    /// `GET /v1/workspaces/{id}/members` → its `data` (the caller must be allowed to read them).
    static func members(_ client: HTTPTestClient, _ header: (String, String), _ workspaceID: Int64) throws -> [JSONValue] {
        let response = try client.request("GET", "/v1/workspaces/\(workspaceID)/members", headers: [header])
        guard response.status == 200 else { throw TestFailure("members failed: \(response.status) \(response.text)") }
        return response.json["data"]?.arrayValue ?? []
    }

    /// user id → role, as the owner (or any member) sees the member list.
    static func roles(_ client: HTTPTestClient, _ header: (String, String), _ workspaceID: Int64) throws -> [Int64: String] {
        var result: [Int64: String] = [:]
        for member in try members(client, header, workspaceID) {
            if let user = member["user_id"]?.int64Value, let role = member["role"]?.stringValue { result[user] = role }
        }
        return result
    }

    /// The membership id of `userID` in the workspace.
    static func memberID(_ client: HTTPTestClient, _ header: (String, String), _ workspaceID: Int64, userID: Int64) throws
        -> Int64
    {
        guard let id = try members(client, header, workspaceID).first(where: { $0["user_id"]?.int64Value == userID })?["id"]?
            .int64Value
        else { throw TestFailure("user \(userID) is not a member of \(workspaceID)") }
        return id
    }

    /// `PATCH /v1/workspaces/{id}/members/{memberId}` with `{role}`.
    static func changeRole(_ client: HTTPTestClient, _ by: TestAccount, _ workspaceID: Int64, memberID: Int64,
                           role: String) throws -> TestResponse {
        try client.request("PATCH", "/v1/workspaces/\(workspaceID)/members/\(memberID)", headers: [by.bearer],
                           body: #"{"role":\#(jsonString(role))}"#)
    }

    /// `DELETE /v1/workspaces/{id}/members/{memberId}`.
    static func removeMember(_ client: HTTPTestClient, _ by: TestAccount, _ workspaceID: Int64, memberID: Int64) throws
        -> TestResponse
    {
        try client.request("DELETE", "/v1/workspaces/\(workspaceID)/members/\(memberID)", headers: [by.bearer])
    }

    /// Invites a new (or given) account with `role` and accepts; returns it and its membership id.
    @discardableResult
    static func join(_ client: HTTPTestClient, owner: TestAccount, _ workspaceID: Int64, role: String,
                     account: TestAccount? = nil, tag: String = "member") throws -> (account: TestAccount, memberID: Int64) {
        let member = try account ?? client.signUp(email: uniqueEmail(tag), name: "Member \(tag)")
        let invitation = try invite(client, owner, workspaceID, email: member.email, role: role)
        guard invitation.status == 201, let token = invitation.json["token"]?.stringValue else {
            throw TestFailure("invite failed: \(invitation.status) \(invitation.text)")
        }
        let accepted = try accept(client, member, token: token)
        guard accepted.status == 200, let memberID = accepted.json["member"]?["id"]?.int64Value else {
            throw TestFailure("accept failed: \(accepted.status) \(accepted.text)")
        }
        return (member, memberID)
    }

    /// `GET /v1/audit-log` for the workspace (header), one page.
    static func auditPage(_ client: HTTPTestClient, _ header: (String, String), _ workspaceID: Int64?,
                          query: String = "") throws -> TestResponse {
        var headers = [header]
        if let workspaceID { headers.append(("X-Workspace-ID", String(workspaceID))) }
        return try client.request("GET", "/v1/audit-log" + (query.isEmpty ? "" : "?" + query), headers: headers)
    }

    /// Every audit entry of the workspace, newest first, following cursors with `limit`.
    static func auditEntries(_ client: HTTPTestClient, _ header: (String, String), _ workspaceID: Int64,
                             limit: Int = 100) throws -> [JSONValue] {
        var entries: [JSONValue] = []
        var cursor: String?
        for _ in 0..<1000 {
            var query = "limit=\(limit)"
            if let cursor { query += "&cursor=\(cursor)" }
            let page = try auditPage(client, header, workspaceID, query: query)
            guard page.status == 200 else { throw TestFailure("audit log failed: \(page.status) \(page.text)") }
            entries += page.json["data"]?.arrayValue ?? []
            guard let next = page.json["next_cursor"]?.stringValue else { return entries }
            cursor = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next
        }
        throw TestFailure("audit log pagination does not end")
    }

    /// `POST /v1/collections/items/records` into the workspace.
    static func createRecord(_ client: HTTPTestClient, _ header: (String, String), _ workspaceID: Int64,
                             data: String = #"{"n":1}"#) throws -> TestResponse {
        try client.request("POST", recordsPath, headers: [header, ("X-Workspace-ID", String(workspaceID))],
                           body: #"{"data":\#(data)}"#)
    }

    /// `GET /v1/collections/items/records` in the workspace → the response.
    static func listRecords(_ client: HTTPTestClient, _ header: (String, String), _ workspaceID: Int64) throws
        -> TestResponse
    {
        try client.request("GET", recordsPath + "?limit=100", headers: [header, ("X-Workspace-ID", String(workspaceID))])
    }

    // MARK: Plans and the admin CLI

    /// Writes a plans file and returns its path.
    static func writePlansFile(_ json: String) throws -> String {
        let path = NSTemporaryDirectory() + "atrium-plans-" + UUID().uuidString + ".json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let freeAndProPlans = #"{"default":"free","plans":{"free":{"max_workspaces_per_user":1,"features":[]},"pro":{"features":["api_keys","webhooks"]}}}"#

    /// Runs `atrium <arguments> --data-dir DIR [--plans-file P]` next to the running server.
    static func cli(_ arguments: [String], server: TestServer, plansFile: String?) throws -> AtriumRun {
        var all = arguments + ["--data-dir", server.dataDirectory]
        if let plansFile { all += ["--plans-file", plansFile] }
        return try AtriumBinary.run(all, timeout: 30)
    }

    /// `atrium key create --email E --mode full`: the printed secret.
    static func cliCreateFullKey(email: String, server: TestServer, plansFile: String?) throws -> String {
        let run = try cli(["key", "create", "--email", email, "--mode", "full"], server: server, plansFile: plansFile)
        let secret = run.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .last { $0.hasPrefix("atr_") }
        guard run.status == 0, let secret else {
            throw TestFailure("key create failed: \(run.status) \(run.stdout) \(run.stderr)")
        }
        return secret
    }

    /// `atrium user set-plan --email E --plan P`.
    static func cliSetPlan(email: String, plan: String, server: TestServer, plansFile: String?) throws {
        let run = try cli(["user", "set-plan", "--email", email, "--plan", plan], server: server, plansFile: plansFile)
        guard run.status == 0 else { throw TestFailure("set-plan failed: \(run.status) \(run.stdout) \(run.stderr)") }
    }

    // MARK: Shapes

    /// The member object of api.md §5.
    static func expectMemberShape(_ member: JSONValue, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(member["id"]?.int64Value != nil, "\(label): id in \(member)", sourceLocation: sourceLocation)
        #expect(member["user_id"]?.int64Value != nil, "\(label): user_id in \(member)", sourceLocation: sourceLocation)
        #expect(member["email"]?.stringValue != nil, "\(label): email in \(member)", sourceLocation: sourceLocation)
        #expect(member["name"]?.stringValue != nil, "\(label): name in \(member)", sourceLocation: sourceLocation)
        #expect(roles.contains(member["role"]?.stringValue ?? ""), "\(label): role in \(member)", sourceLocation: sourceLocation)
        #expect(isTimestamp(member["joined_at"]), "\(label): joined_at in \(member)", sourceLocation: sourceLocation)
    }

    /// The workspace object of api.md §4.
    static func expectWorkspaceShape(_ workspace: JSONValue, _ label: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) {
        for field in ["id", "owner_id"] {
            #expect(workspace[field]?.int64Value != nil, "\(label): \(field) in \(workspace)", sourceLocation: sourceLocation)
        }
        #expect(workspace["name"]?.stringValue != nil, "\(label): name in \(workspace)", sourceLocation: sourceLocation)
        #expect(workspace["is_main"]?.boolValue != nil, "\(label): is_main in \(workspace)", sourceLocation: sourceLocation)
        let color = workspace["color"]
        #expect(color == .null || color?.stringValue.map(isColor) == true, "\(label): color in \(workspace)",
                sourceLocation: sourceLocation)
        #expect(roles.contains(workspace["role"]?.stringValue ?? ""), "\(label): role in \(workspace)",
                sourceLocation: sourceLocation)
        if case .object = workspace["metadata"] ?? .null {} else {
            Issue.record("\(label): metadata is not an object in \(workspace)", sourceLocation: sourceLocation)
        }
        #expect(isTimestamp(workspace["created_at"]), "\(label): created_at in \(workspace)", sourceLocation: sourceLocation)
        #expect(isTimestamp(workspace["updated_at"]), "\(label): updated_at in \(workspace)", sourceLocation: sourceLocation)
    }

    static func isColor(_ text: String) -> Bool {
        text.range(of: "^#[0-9A-Fa-f]{6}$", options: .regularExpression) != nil
    }

    /// The invitation object of api.md §5.
    static func expectInvitationShape(_ invitation: JSONValue, _ label: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        for field in ["id", "workspace_id"] {
            #expect(invitation[field]?.int64Value != nil, "\(label): \(field) in \(invitation)", sourceLocation: sourceLocation)
        }
        for field in ["email", "role", "status", "token"] {
            #expect(invitation[field]?.stringValue?.isEmpty == false, "\(label): \(field) in \(invitation)",
                    sourceLocation: sourceLocation)
        }
        #expect(isTimestamp(invitation["expires_at"]), "\(label): expires_at in \(invitation)", sourceLocation: sourceLocation)
        #expect(isTimestamp(invitation["created_at"]), "\(label): created_at in \(invitation)", sourceLocation: sourceLocation)
    }

    /// Parses a contract timestamp.
    static func date(_ value: JSONValue?) -> Date? {
        guard let text = value?.stringValue else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// True when the value is a JSON object.
    static func isObject(_ value: JSONValue?) -> Bool {
        if case .object = value ?? .null { return true }
        return false
    }
}

/// A one-shot start line for threads: `wait()` blocks until `parties` threads have arrived.
final class AdminBarrier: @unchecked Sendable {
    // @unchecked Sendable: `arrived` is only touched under `condition`.
    private let condition = NSCondition()
    private var arrived = 0
    private let parties: Int

    init(parties: Int) { self.parties = parties }

    func wait() {
        condition.lock()
        arrived += 1
        if arrived >= parties {
            condition.broadcast()
        } else {
            while arrived < parties { condition.wait() }
        }
        condition.unlock()
    }
}
