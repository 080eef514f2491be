import AtriumJSON
import Foundation
import Testing

/// Webhooks and plans (docs/webhooks.md, docs/decisions.md): the `webhooks` feature gates
/// creating and changing endpoints, never reading, turning off, deleting or rotating; a workspace holds at
/// most 100 endpoints.
@Suite("Webhook plans and limits", .serialized)
struct WebhookPlanTests {
    @Test func withoutTheFeatureEndpointsCanBeReadDeletedAndRotatedButNotCreatedOrChanged() throws {
        let plans = try Admin.writePlansFile(
            #"{"default":"pro","plans":{"basic":{"features":["api_keys"]},"pro":{"features":["api_keys","webhooks"]}}}"#)
        let server = try TestServer(["--plans-file", plans])
        let client = try server.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "https://example.com/a")
        try Admin.cliSetPlan(email: owner.email, plan: "basic", server: server, plansFile: plans)

        let refused = try Hooks.create(client, owner.bearer, url: "https://example.com/b")
        #expect(refused.status == 403)
        #expect(refused.errorCode == "FEATURE_UNAVAILABLE")
        let change = try client.request("PATCH", "/v1/webhooks/\(hook.id)", headers: [owner.bearer],
                                        body: #"{"url":"https://example.com/changed"}"#)
        #expect(change.errorCode == "FEATURE_UNAVAILABLE")
        let offAndRename = try client.request("PATCH", "/v1/webhooks/\(hook.id)", headers: [owner.bearer],
                                            body: #"{"active":false,"description":"off"}"#)
        #expect(offAndRename.errorCode == "FEATURE_UNAVAILABLE")
        // Turning it off alone needs no feature (like deleting).
        let off = try client.request("PATCH", "/v1/webhooks/\(hook.id)", headers: [owner.bearer], body: #"{"active":false}"#)
        #expect(off.status == 200)
        #expect(off.json["active"] == .bool(false))
        let on = try client.request("PATCH", "/v1/webhooks/\(hook.id)", headers: [owner.bearer], body: #"{"active":true}"#)
        #expect(on.errorCode == "FEATURE_UNAVAILABLE")
        let list = try client.request("GET", "/v1/webhooks", headers: [owner.bearer])
        #expect(list.json["data"]?.arrayValue?.map { $0["url"]?.stringValue } == ["https://example.com/a"])
        #expect(try client.request("POST", "/v1/webhooks/\(hook.id)/rotate-secret", headers: [owner.bearer]).status == 200)
        #expect(try client.request("DELETE", "/v1/webhooks/\(hook.id)", headers: [owner.bearer]).status == 204)
        #expect(try client.request("GET", "/v1/webhooks", headers: [owner.bearer]).json["data"] == .array([]))
        _ = server.stop()
    }

    @Test func aWorkspaceHoldsAtMostAHundredEndpoints() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        for n in 0..<100 {
            #expect(try Hooks.create(client, owner.bearer, url: "https://example.com/\(n)").status == 201)
        }
        let refused = try Hooks.create(client, owner.bearer, url: "https://example.com/extra")
        #expect(refused.status == 403)
        #expect(refused.errorCode == "LIMIT_REACHED")
        let usage = try client.request("GET", "/v1/workspaces/\(owner.mainWorkspaceID)/usage", headers: [owner.bearer])
        #expect(usage.json["webhooks"]?.int64Value == 100)
        // Another workspace of the same owner has its own hundred.
        let other = try client.createWorkspace(owner)
        #expect(try Hooks.create(client, owner.bearer, url: "https://example.com/other", workspaceID: other).status == 201)
        _ = server.stop()
    }
}
