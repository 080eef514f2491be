import AtriumJSON
import Foundation
import Testing

/// `POST /v1/api-keys` without `mode` (api.md §5): a `full` key; `workspace_ids` without
/// `mode` is refused, naming `mode`, and creates nothing.
@Suite("API key mode default")
struct APIKeyModeTests {
    @Test("mode omitted creates a full key that reaches every workspace of its user")
    func omittedModeIsFull() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let created = try client.request("POST", "/v1/api-keys", headers: [account.bearer], body: #"{"name":"k"}"#)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json["mode"]?.stringValue == "full", "\(created.text)")
        let secret = try #require(created.json["secret"]?.stringValue)
        let me = try client.request("GET", "/v1/me", headers: [("Authorization", "Bearer \(secret)")])
        #expect(me.status == 200, "\(me.text)")
    }

    @Test("workspace_ids without mode: 400 VALIDATION_FAILED naming mode, no key created")
    func workspaceIDsWithoutMode() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let body = #"{"name":"k","workspace_ids":[\#(account.mainWorkspaceID)]}"#
        let refused = try client.request("POST", "/v1/api-keys", headers: [account.bearer], body: body)
        #expect(refused.status == 400, "\(refused.text)")
        #expect(refused.json["error"]?["code"]?.stringValue == "VALIDATION_FAILED", "\(refused.text)")
        let fields = refused.json["error"]?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields == ["mode"], "\(refused.text)")
        let list = try client.request("GET", "/v1/api-keys", headers: [account.bearer])
        #expect(list.json["data"]?.arrayValue?.isEmpty == true, "\(list.text)")
    }
}
