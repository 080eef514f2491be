import AtriumJSON
import Foundation
import Testing

extension Tag {
    /// Tests that need `GET /v1/collections/{collection}/records` (api.md §6) for the
    /// header/query rule of §3.
    @Tag static var recordsRoute: Self
}

/// api.md §3 over real sockets: the path rule on `GET /v1/workspaces/{id}`, and the
/// header/query rule on `GET /v1/collections/items/records` (content:read).
@Suite struct ResolutionWireTests {
    /// The spec's malformed values, as raw header text and as query text.
    static let malformedValues: [(label: String, header: String, query: String)] = [
        ("empty", "", ""),
        ("whitespace only", "   ", "%20%20"),
        ("zero", "0", "0"),
        ("negative", "-1", "-1"),
        ("plus sign", "+7", "%2B7"),
        ("leading zeros", "007", "007"),
        ("decimal", "1.0", "1.0"),
        ("exponent", "1e3", "1e3"),
        ("hex", "0x1F", "0x1F"),
        ("letters", "abc", "abc"),
        ("Arabic-Indic digit", "\u{0661}", "%D9%A1"),
        ("fullwidth digit", "\u{FF11}", "%EF%BC%91"),
        ("overflow by one", "9223372036854775808", "9223372036854775808"),
        ("overflow", "99999999999999999999999", "99999999999999999999999"),
        ("two values", "1,2", "1%2C2"),
        ("inner space", "1 2", "1%202"),
    ]

    struct Fixture {
        let server: TestServer
        let client: HTTPTestClient
        let account: TestAccount
        let second: Int64
        let third: Int64
        let stranger: TestAccount
    }

    static func fixture(_ flags: [String] = []) throws -> Fixture {
        let server = try TestServer(flags)
        let client = try server.client()
        let account = try client.signUp()
        let second = try client.createWorkspace(account, name: "Second")
        let third = try client.createWorkspace(account, name: "Third")
        let stranger = try client.signUp()
        return Fixture(server: server, client: client, account: account, second: second, third: third, stranger: stranger)
    }

    /// Fails (and marks the test) when the records route is not routed at all.
    static func requireRecordsRoute(_ client: HTTPTestClient, _ account: TestAccount) throws {
        let probe = try client.request("GET", recordsPath, headers: [account.bearer])
        try #require(!probe.isMissingRoute, "GET \(recordsPath) answers 404 for the route itself: not implemented yet")
    }

    // MARK: Path rule

    @Test func pathRuleRefusesMalformedWorkspaceIDs() throws {
        let f = try Self.fixture()
        let main = f.account.mainWorkspaceID
        var values = Self.malformedValues.filter { $0.label != "empty" }.map { ($0.label, $0.query) }
        values += [("leading zero of a real id", "0\(main)"), ("sign on a real id", "%2B\(main)"),
                   ("fraction of a real id", "\(main).0"), ("trailing space", "\(main)%20")]
        for (label, value) in values {
            let response = try f.client.request("GET", "/v1/workspaces/\(value)", headers: [f.account.bearer])
            expectError(response, 400, "INVALID_WORKSPACE_ID", "path \(label) (\(value))")
        }
        let good = try f.client.request("GET", "/v1/workspaces/\(main)", headers: [f.account.bearer])
        #expect(good.status == 200, "\(good.text)")
        #expect(good.json["id"]?.int64Value == main)
        #expect(good.header("X-Workspace-ID") == String(main))
    }

    @Test func pathRuleUnreachableIsCrossTenant() throws {
        let f = try Self.fixture()
        for id in [f.stranger.mainWorkspaceID, 987_654_321, Int64.max] {
            expectError(try f.client.request("GET", "/v1/workspaces/\(id)", headers: [f.account.bearer]), 403,
                        "CROSS_TENANT_WORKSPACE", "workspace \(id)")
        }
    }

    @Test func pathRuleWithAWorkspaceKey() throws {
        let f = try Self.fixture()
        let key = try f.client.createWorkspaceKey(f.account, workspaceID: f.second)
        // Its own workspace, whatever the header and query say.
        for headers in [[], [("X-Workspace-ID", "abc")], [("X-Workspace-ID", String(f.third))]] as [[(String, String)]] {
            let response = try f.client.request("GET", "/v1/workspaces/\(f.second)?workspace_id=zz",
                                                headers: [bearer(key.secret)] + headers)
            #expect(response.status == 200, "\(headers): \(response.text)")
            #expect(response.header("X-Workspace-ID") == String(f.second))
        }
        // Another workspace in the path, even one its user owns.
        expectError(try f.client.request("GET", "/v1/workspaces/\(f.third)", headers: [bearer(key.secret)]), 403,
                    "CROSS_TENANT_WORKSPACE")
        expectError(try f.client.request("GET", "/v1/workspaces/\(f.account.mainWorkspaceID)",
                                         headers: [bearer(key.secret), ("X-Workspace-ID", String(f.second))]),
                    403, "CROSS_TENANT_WORKSPACE")
    }

    @Test func crossTenantBodiesAreByteForByteIdenticalOnThePathRule() throws {
        let f = try Self.fixture()
        let scoped = try f.client.createKey(f.account, mode: "scoped", workspaceIDs: [f.second])
        let full = try f.client.createKey(f.account, mode: "full")
        let bound = try f.client.createWorkspaceKey(f.account, workspaceID: f.second)
        let requestID = ("X-Request-ID", "cross-tenant-probe-1")
        let attempts: [(String, String, String)] = [
            ("does not exist", f.account.accessToken, "/v1/workspaces/987654321"),
            ("another user's", f.account.accessToken, "/v1/workspaces/\(f.stranger.mainWorkspaceID)"),
            ("another user's via full key", full.secret, "/v1/workspaces/\(f.stranger.mainWorkspaceID)"),
            ("not on the allow-list", scoped.secret, "/v1/workspaces/\(f.third)"),
            ("another user's via scoped key", scoped.secret, "/v1/workspaces/\(f.stranger.mainWorkspaceID)"),
            ("workspace key, other path", bound.secret, "/v1/workspaces/\(f.third)"),
            ("workspace key, other user's path", bound.secret, "/v1/workspaces/\(f.stranger.mainWorkspaceID)"),
        ]
        var bodies: [(String, [UInt8])] = []
        for (label, token, path) in attempts {
            let response = try f.client.request("GET", path, headers: [bearer(token), requestID])
            expectError(response, 403, "CROSS_TENANT_WORKSPACE", label)
            #expect(response.json["error"]?["request_id"]?.stringValue == "cross-tenant-probe-1")
            bodies.append((label, response.body))
        }
        for (label, body) in bodies.dropFirst() {
            #expect(body == bodies[0].1, "\(label): \(String(decoding: body, as: UTF8.self)) vs \(String(decoding: bodies[0].1, as: UTF8.self))")
        }
    }

    /// A deleted workspace answers exactly like one that never existed, and its keys die with it.
    @Test func deletedWorkspaceIsCrossTenantWithTheSameBody() throws {
        let f = try Self.fixture()
        let bound = try f.client.createWorkspaceKey(f.account, workspaceID: f.third)
        let deleted = try f.client.request("DELETE", "/v1/workspaces/\(f.third)", headers: [f.account.bearer])
        try #require(deleted.status == 204, "DELETE /v1/workspaces/{id}: \(deleted.status) \(deleted.text)")
        let requestID = ("X-Request-ID", "deleted-probe")
        let gone = try f.client.request("GET", "/v1/workspaces/\(f.third)", headers: [f.account.bearer, requestID])
        let never = try f.client.request("GET", "/v1/workspaces/987654321", headers: [f.account.bearer, requestID])
        expectError(gone, 403, "CROSS_TENANT_WORKSPACE", "deleted")
        #expect(gone.body == never.body)
        expectError(try f.client.me(bound.secret), 401, "INVALID_TOKEN", "key of a deleted workspace")
        #expect(try f.client.workspaceIDs(f.account).contains(f.third) == false)
    }

    @Test func removedMembersLoseEveryCredentialAtOnce() throws {
        let f = try Self.fixture()
        let admin = try f.client.signUp()
        let memberID = try f.client.join(admin, workspaceID: f.second, owner: f.account, role: "admin")
        let bound = try f.client.createWorkspaceKey(admin, workspaceID: f.second)
        let full = try f.client.createKey(admin, mode: "full")
        for token in [admin.accessToken, bound.secret, full.secret] {
            #expect(try f.client.request("GET", "/v1/workspaces/\(f.second)", headers: [bearer(token)]).status == 200)
        }
        let removed = try f.client.request("DELETE", "/v1/workspaces/\(f.second)/members/\(memberID)",
                                           headers: [f.account.bearer])
        #expect(removed.status == 204, "\(removed.text)")
        for (label, token) in [("JWT", admin.accessToken), ("workspace key", bound.secret), ("full key", full.secret)] {
            expectError(try f.client.request("GET", "/v1/workspaces/\(f.second)", headers: [bearer(token)]), 403,
                        "CROSS_TENANT_WORKSPACE", "\(label) after removal")
        }
        // Rule 1: the workspace key's user is no longer a member, whatever the header says.
        expectError(try f.client.request("GET", recordsPath, headers: [bearer(bound.secret)]), 403, "CROSS_TENANT_WORKSPACE")
        expectError(try f.client.request("GET", recordsPath,
                                         headers: [bearer(bound.secret), ("X-Workspace-ID", String(admin.mainWorkspaceID))]),
                    403, "CROSS_TENANT_WORKSPACE")
        #expect(try f.client.me(full.secret).json["workspaces"]?.arrayValue?.compactMap { $0["id"]?.int64Value }
            == [admin.mainWorkspaceID])
    }

    @Test func noMainWorkspaceAfterGivingItAway() throws {
        let f = try Self.fixture()
        let heir = try f.client.signUp()
        try f.client.join(heir, workspaceID: f.account.mainWorkspaceID, owner: f.account, role: "admin")
        let transfer = try f.client.request("POST", "/v1/workspaces/\(f.account.mainWorkspaceID)/transfer-ownership",
                                            headers: [f.account.bearer], body: #"{"user_id":\#(heir.userID)}"#)
        #expect(transfer.status == 200, "\(transfer.text)")
        let full = try f.client.createKey(f.account, mode: "full")
        for token in [f.account.accessToken, full.secret] {
            expectError(try f.client.request("GET", recordsPath, headers: [bearer(token)]), 403, "NO_MAIN_WORKSPACE")
            // Naming a workspace still works.
            let named = try f.client.request("GET", recordsPath, headers: [bearer(token), ("X-Workspace-ID", String(f.second))])
            #expect(named.status == 200, "\(named.text)")
        }
        #expect(try f.client.me(f.account.accessToken).status == 200)
        let fixed = try f.client.request("PATCH", "/v1/me", headers: [f.account.bearer],
                                         body: #"{"main_workspace_id":\#(f.third)}"#)
        #expect(fixed.status == 200, "\(fixed.text)")
        let after = try f.client.request("GET", recordsPath, headers: [bearer(full.secret)])
        #expect(after.status == 200, "\(after.text)")
        #expect(after.header("X-Workspace-ID") == String(f.third))
    }

    // MARK: Header and query rule (records route)

    @Test(.tags(.recordsRoute)) func malformedHeaderValuesAreInvalidWorkspaceHeader() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        let full = try f.client.createKey(f.account, mode: "full")
        for token in [f.account.accessToken, full.secret] {
            for (label, value, _) in Self.malformedValues {
                let response = try f.client.request("GET", recordsPath,
                                                    headers: [bearer(token), ("X-Workspace-ID", value)])
                expectError(response, 400, "INVALID_WORKSPACE_HEADER", "header \(label) (\(value))")
            }
        }
        // Surrounding whitespace is not part of the value.
        let padded = try f.client.request("GET", recordsPath,
                                          headers: [f.account.bearer, ("X-Workspace-ID", "  \(f.second)\t")])
        #expect(padded.status == 200, "\(padded.text)")
        #expect(padded.header("X-Workspace-ID") == String(f.second))
    }

    @Test(.tags(.recordsRoute)) func malformedQueryValuesAreInvalidWorkspaceID() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        var values = Self.malformedValues.map { ($0.label, $0.query) }
        values.append(("raw plus", "+7"))
        for (label, value) in values {
            let response = try f.client.request("GET", "\(recordsPath)?workspace_id=\(value)", headers: [f.account.bearer])
            expectError(response, 400, "INVALID_WORKSPACE_ID", "query \(label) (\(value))")
        }
        let good = try f.client.request("GET", "\(recordsPath)?workspace_id=\(f.third)", headers: [f.account.bearer])
        #expect(good.status == 200, "\(good.text)")
        #expect(good.header("X-Workspace-ID") == String(f.third))
    }

    @Test(.tags(.recordsRoute)) func theHeaderTwiceIsInvalidWorkspaceHeader() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        let main = String(f.account.mainWorkspaceID)
        for pair in [(main, main), (main, String(f.second))] {
            let response = try f.client.request("GET", recordsPath,
                                                headers: [f.account.bearer, ("X-Workspace-ID", pair.0),
                                                          ("X-Workspace-ID", pair.1)])
            expectError(response, 400, "INVALID_WORKSPACE_HEADER", "\(pair)")
        }
    }

    @Test(.tags(.recordsRoute)) func headerAndQueryMismatchIsWorkspaceMismatch() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        let response = try f.client.request("GET", "\(recordsPath)?workspace_id=\(f.third)",
                                            headers: [f.account.bearer, ("X-Workspace-ID", String(f.second))])
        expectError(response, 400, "WORKSPACE_MISMATCH")
        // Syntax comes first: a malformed side is reported as malformed, not as a mismatch.
        expectError(try f.client.request("GET", "\(recordsPath)?workspace_id=\(f.third)",
                                         headers: [f.account.bearer, ("X-Workspace-ID", "abc")]),
                    400, "INVALID_WORKSPACE_HEADER")
        expectError(try f.client.request("GET", "\(recordsPath)?workspace_id=abc",
                                         headers: [f.account.bearer, ("X-Workspace-ID", String(f.second))]),
                    400, "INVALID_WORKSPACE_ID")
        // Equal values are fine.
        let same = try f.client.request("GET", "\(recordsPath)?workspace_id=\(f.second)",
                                        headers: [f.account.bearer, ("X-Workspace-ID", String(f.second))])
        #expect(same.status == 200, "\(same.text)")
        #expect(same.header("X-Workspace-ID") == String(f.second))
    }

    @Test(.tags(.recordsRoute)) func anOmittedWorkspaceIsTheMainOne() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        let full = try f.client.createKey(f.account, mode: "full")
        let scoped = try f.client.createKey(f.account, mode: "scoped", workspaceIDs: [f.account.mainWorkspaceID, f.third])
        for token in [f.account.accessToken, full.secret, scoped.secret] {
            let response = try f.client.request("GET", recordsPath, headers: [bearer(token)])
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("X-Workspace-ID") == String(f.account.mainWorkspaceID))
            #expect(response.json["data"]?.arrayValue != nil)
        }
        // The main follows PATCH /v1/me at once.
        let moved = try f.client.request("PATCH", "/v1/me", headers: [f.account.bearer],
                                         body: #"{"main_workspace_id":\#(f.second)}"#)
        #expect(moved.status == 200, "\(moved.text)")
        let after = try f.client.request("GET", recordsPath, headers: [f.account.bearer])
        #expect(after.header("X-Workspace-ID") == String(f.second))
        // The scoped key's allow-list does not hold the new main.
        expectError(try f.client.request("GET", recordsPath, headers: [bearer(scoped.secret)]), 400, "WORKSPACE_REQUIRED")
    }

    @Test(.tags(.recordsRoute)) func aGivenWorkspaceIsUsed() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        let header = try f.client.request("GET", recordsPath,
                                          headers: [f.account.bearer, ("X-Workspace-ID", String(f.second))])
        #expect(header.status == 200, "\(header.text)")
        #expect(header.header("X-Workspace-ID") == String(f.second))
        let query = try f.client.request("GET", "\(recordsPath)?workspace_id=\(f.third)", headers: [f.account.bearer])
        #expect(query.status == 200, "\(query.text)")
        #expect(query.header("X-Workspace-ID") == String(f.third))
    }

    @Test(.tags(.recordsRoute)) func requireWorkspaceRefusesAnOmittedWorkspace() throws {
        let f = try Self.fixture(["--require-workspace", "true"])
        try #require(!(try f.client.request("GET", recordsPath,
                                             headers: [f.account.bearer, ("X-Workspace-ID", String(f.second))])).isMissingRoute,
                     "records route not implemented yet")
        let full = try f.client.createKey(f.account, mode: "full")
        let bound = try f.client.createWorkspaceKey(f.account, workspaceID: f.third)
        for token in [f.account.accessToken, full.secret] {
            expectError(try f.client.request("GET", recordsPath, headers: [bearer(token)]), 400, "WORKSPACE_REQUIRED")
            let given = try f.client.request("GET", recordsPath, headers: [bearer(token), ("X-Workspace-ID", String(f.second))])
            #expect(given.status == 200, "\(given.text)")
            #expect(given.header("X-Workspace-ID") == String(f.second))
        }
        // Rule 1 is unchanged: a workspace key needs no header.
        let keyed = try f.client.request("GET", recordsPath, headers: [bearer(bound.secret)])
        #expect(keyed.status == 200, "\(keyed.text)")
        #expect(keyed.header("X-Workspace-ID") == String(f.third))
        // Path routes carry their workspace.
        #expect(try f.client.request("GET", "/v1/workspaces/\(f.second)", headers: [f.account.bearer]).status == 200)
    }

    @Test(.tags(.recordsRoute)) func aScopedKeyWithoutTheMainNeedsAWorkspace() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        let scoped = try f.client.createKey(f.account, mode: "scoped", workspaceIDs: [f.second, f.third])
        expectError(try f.client.request("GET", recordsPath, headers: [bearer(scoped.secret)]), 400, "WORKSPACE_REQUIRED")
        let given = try f.client.request("GET", recordsPath, headers: [bearer(scoped.secret), ("X-Workspace-ID", String(f.third))])
        #expect(given.status == 200, "\(given.text)")
        #expect(given.header("X-Workspace-ID") == String(f.third))
        expectError(try f.client.request("GET", recordsPath,
                                         headers: [bearer(scoped.secret), ("X-Workspace-ID", String(f.account.mainWorkspaceID))]),
                    403, "CROSS_TENANT_WORKSPACE")
    }

    @Test(.tags(.recordsRoute)) func aWorkspaceKeyIgnoresHeaderAndQuery() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        let bound = try f.client.createWorkspaceKey(f.account, workspaceID: f.second)
        let main = String(f.account.mainWorkspaceID)
        let variants: [(String, String, [(String, String)])] = [
            ("nothing", "", []),
            ("header of another own workspace", "", [("X-Workspace-ID", main)]),
            ("header of another user's workspace", "", [("X-Workspace-ID", String(f.stranger.mainWorkspaceID))]),
            ("malformed header", "", [("X-Workspace-ID", "abc")]),
            ("empty header", "", [("X-Workspace-ID", "")]),
            ("header twice", "", [("X-Workspace-ID", main), ("X-Workspace-ID", String(f.third))]),
            ("query of another workspace", "?workspace_id=\(f.third)", []),
            ("malformed query", "?workspace_id=0x1F", []),
            ("mismatching header and query", "?workspace_id=\(f.third)", [("X-Workspace-ID", main)]),
        ]
        for (label, query, headers) in variants {
            for credential in [bearer(bound.secret), ("X-API-Key", bound.secret)] {
                let response = try f.client.request("GET", recordsPath + query, headers: [credential] + headers)
                #expect(response.status == 200, "\(label): \(response.text)")
                #expect(response.header("X-Workspace-ID") == String(f.second), "\(label)")
            }
        }
        // Fan-out: `all` is its one workspace (no WORKSPACE_MISMATCH, its header is ignored);
        // a list naming any other workspace is CROSS_TENANT_WORKSPACE.
        let created = try f.client.request("POST", "/v1/collections/items/records", headers: [bearer(bound.secret)],
                                           body: #"{"data":{"k":1}}"#)
        #expect(created.status == 201, "\(created.text)")
        _ = try f.client.request("POST", "/v1/collections/items/records",
                                 headers: [f.account.bearer, ("X-Workspace-ID", String(f.third))], body: #"{"data":{"k":2}}"#)
        for headers in [[], [("X-Workspace-ID", main)]] as [[(String, String)]] {
            let all = try f.client.request("GET", "\(recordsPath)?workspaces=all", headers: [bearer(bound.secret)] + headers)
            #expect(all.status == 200, "\(all.text)")
            let rows = all.json["data"]?.arrayValue ?? []
            #expect(rows.count == 1)
            #expect(rows.allSatisfy { $0["workspace_id"]?.int64Value == f.second }, "\(all.text)")
        }
        #expect(try f.client.request("GET", "\(recordsPath)?workspaces=\(f.second)", headers: [bearer(bound.secret)]).status
            == 200)
        for list in ["\(f.third)", "\(f.second),\(f.third)", "\(f.stranger.mainWorkspaceID)"] {
            expectError(try f.client.request("GET", "\(recordsPath)?workspaces=\(list)", headers: [bearer(bound.secret)]),
                        403, "CROSS_TENANT_WORKSPACE", "workspaces=\(list)")
        }
        // Other credentials: `workspaces` together with a header is a mismatch.
        expectError(try f.client.request("GET", "\(recordsPath)?workspaces=all",
                                         headers: [f.account.bearer, ("X-Workspace-ID", main)]), 400, "WORKSPACE_MISMATCH")
    }

    @Test(.tags(.recordsRoute)) func crossTenantBodiesAreByteForByteIdenticalOnTheHeaderRule() throws {
        let f = try Self.fixture()
        try Self.requireRecordsRoute(f.client, f.account)
        let scoped = try f.client.createKey(f.account, mode: "scoped", workspaceIDs: [f.second])
        let full = try f.client.createKey(f.account, mode: "full")
        let bound = try f.client.createWorkspaceKey(f.account, workspaceID: f.second)
        let requestID = ("X-Request-ID", "cross-tenant-probe-2")
        let attempts: [(String, String, String, [(String, String)])] = [
            ("does not exist (header)", f.account.accessToken, recordsPath, [("X-Workspace-ID", "987654321")]),
            ("does not exist (query)", f.account.accessToken, "\(recordsPath)?workspace_id=987654321", []),
            ("another user's (header)", f.account.accessToken, recordsPath,
             [("X-Workspace-ID", String(f.stranger.mainWorkspaceID))]),
            ("another user's (query, full key)", full.secret, "\(recordsPath)?workspace_id=\(f.stranger.mainWorkspaceID)", []),
            ("not on the allow-list", scoped.secret, recordsPath, [("X-Workspace-ID", String(f.third))]),
            ("not on the allow-list (query)", scoped.secret, "\(recordsPath)?workspace_id=\(f.account.mainWorkspaceID)", []),
            ("workspace key, other path", bound.secret, "/v1/workspaces/\(f.third)", []),
            ("path rule, does not exist", f.account.accessToken, "/v1/workspaces/987654321", []),
        ]
        var bodies: [(String, [UInt8])] = []
        for (label, token, path, headers) in attempts {
            let response = try f.client.request("GET", path, headers: [bearer(token), requestID] + headers)
            expectError(response, 403, "CROSS_TENANT_WORKSPACE", label)
            bodies.append((label, response.body))
        }
        for (label, body) in bodies.dropFirst() {
            #expect(body == bodies[0].1, "\(label): \(String(decoding: body, as: UTF8.self))")
        }
    }
}
