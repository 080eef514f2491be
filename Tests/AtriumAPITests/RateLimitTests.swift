import AtriumJSON
import Foundation
import Testing

/// Per-plan rate limits over real sockets (api.md §1 "Rate limits", server.md "Plans").
@Suite("Rate limits")
struct RateLimitTests {
    static func header(_ response: TestResponse, _ name: String) -> Int? { response.header(name).flatMap { Int($0) } }

    @Test("requests_per_minute: RateLimit-* on every response of the workspace, 429 with an accurate Retry-After, others unaffected")
    func perWorkspace() throws {
        let plans = try Admin.writePlansFile(
            #"{"default":"free","plans":{"free":{"requests_per_minute":3,"features":["api_keys","webhooks"]},"#
            + #""big":{"features":["api_keys","webhooks"]}}}"#)
        defer { try? FileManager.default.removeItem(atPath: plans) }
        let server = try TestServer(["--plans-file", plans])
        let client = try server.client()
        let limited = try client.signUp()
        let other = try client.signUp()
        try Admin.cliSetPlan(email: other.email, plan: "big", server: server, plansFile: plans)
        for remaining in [2, 1, 0] {
            let response = try client.request("GET", "/v1/collections/items/records", headers: [limited.bearer])
            #expect(response.status == 200, "\(response.text)")
            #expect(Self.header(response, "RateLimit-Limit") == 3)
            #expect(Self.header(response, "RateLimit-Remaining") == remaining)
            #expect((Self.header(response, "RateLimit-Reset") ?? 0) > 0)
        }
        let refused = try client.request("POST", "/v1/collections/items/records", headers: [limited.bearer],
                                         body: #"{"data":{"n":1}}"#)
        expectError(refused, 429, "RATE_LIMITED")
        let retryAfter = try #require(Self.header(refused, "Retry-After"))
        #expect((19...20).contains(retryAfter), "3 a minute: the next request in about 20 s, not \(retryAfter)")
        #expect(Self.header(refused, "RateLimit-Remaining") == 0)
        #expect(try Admin.listRecords(client, other.bearer, limited.mainWorkspaceID).status == 403)
        // Nothing was written by the refused create (read by someone whose plan is unlimited).
        let records = try client.request("GET", "/v1/collections/items/records", headers: [other.bearer])
        #expect(records.status == 200 && records.header("RateLimit-Limit") == nil, "an unlimited plan has no fields")
        // Another tenant is unaffected.
        for _ in 0..<10 {
            #expect(try client.request("GET", "/v1/me", headers: [other.bearer]).status == 200)
        }
    }

    @Test("key_requests_per_minute limits each key; the bucket refills with time")
    func perKeyAndRefill() throws {
        let plans = try Admin.writePlansFile(
            #"{"default":"keys","plans":{"keys":{"key_requests_per_minute":120,"features":["api_keys","webhooks"]}}}"#)
        defer { try? FileManager.default.removeItem(atPath: plans) }
        let server = try TestServer(["--plans-file", plans])
        let client = try server.client()
        let owner = try client.signUp()
        let first = try client.createKey(owner, mode: "full")
        let second = try client.createKey(owner, mode: "full")
        var refused: TestResponse?
        for _ in 0..<130 {
            let response = try client.request("GET", "/v1/me", headers: [bearer(first.secret)])
            if response.status == 429 {
                refused = response
                break
            }
            #expect(response.status == 200, "\(response.text)")
        }
        let limited = try #require(refused, "120 a minute was never reached")
        expectError(limited, 429, "RATE_LIMITED")
        #expect(Self.header(limited, "Retry-After") == 1, "two tokens a second")
        #expect(try client.request("GET", "/v1/me", headers: [bearer(second.secret)]).status == 200, "another key")
        let session = try client.request("GET", "/v1/me", headers: [owner.bearer])
        #expect(session.status == 200 && session.header("RateLimit-Limit") == nil, "sessions have no key limit")
        usleep(1_100_000)
        let again = try client.request("GET", "/v1/me", headers: [bearer(first.secret)])
        #expect(again.status == 200, "refilled after a second: \(again.text)")
    }

    @Test("--requests-per-minute sets the default plan's limit without a plans file")
    func flags() throws {
        let server = try TestServer(["--requests-per-minute", "2"])
        let client = try server.client()
        let owner = try client.signUp()
        #expect(try client.request("GET", "/v1/workspaces/\(owner.mainWorkspaceID)", headers: [owner.bearer]).status == 200)
        #expect(try client.request("GET", "/v1/workspaces/\(owner.mainWorkspaceID)", headers: [owner.bearer]).status == 200)
        expectError(try client.request("GET", "/v1/workspaces/\(owner.mainWorkspaceID)", headers: [owner.bearer]),
                    429, "RATE_LIMITED")
        let bad = try AtriumBinary.run(["serve", "--requests-per-minute", "0", "--port", "0",
                                        "--data-dir", TestServer.makeTemporaryDirectory()], timeout: 10)
        #expect(bad.status != 0, "0 is not a rate")
    }

    @Test("A counted row write that fails (412) still carries the RateLimit-* fields")
    func rowWriteErrorsCarryTheFields() throws {
        let server = try TestServer(["--requests-per-minute", "10"])
        let client = try server.client()
        let owner = try client.signUp()
        let created = try Admin.createRecord(client, owner.bearer, owner.mainWorkspaceID)
        let id = try #require(created.json["id"]?.int64Value)
        let refused = try client.request("PATCH", "/v1/records/\(id)",
                                         headers: [owner.bearer, ("If-Match", "\"99\"")], body: #"{"data":{"n":2}}"#)
        expectError(refused, 412, "PRECONDITION_FAILED")
        #expect(refused.header("RateLimit-Limit") == "10", "\(refused.headers)")
        #expect(refused.header("RateLimit-Remaining") == "8")
    }
}
