import AtriumJSON
import Foundation
import Testing

/// `Idempotency-Key` on every create (api.md §1), not only records: the same key and body
/// replay the first answer with `Idempotent-Replayed: true` and create nothing; another body
/// is 409 IDEMPOTENCY_CONFLICT; a key's secret and an invitation's token are never stored (only
/// their hashes are), so their replays have none.
@Suite struct CreateIdempotencyTests {
    @Test func everyCreateReplaysTheFirstAnswerAndRefusesAnotherBody() throws {
        let server = try TestServer(["--webhook-allow-private", "true"])
        let client = try server.client()
        let account = try client.signUp()
        let ws = account.mainWorkspaceID
        let creates: [(path: String, body: String, other: String, secret: String?)] = [
            ("/v1/workspaces", #"{"name":"two"}"#, #"{"name":"three"}"#, nil),
            ("/v1/api-keys", #"{"name":"k","mode":"full"}"#, #"{"name":"k2","mode":"full"}"#, "secret"),
            ("/v1/workspaces/\(ws)/api-keys", #"{"name":"wk"}"#, #"{"name":"wk2"}"#, "secret"),
            ("/v1/webhooks", #"{"url":"http://127.0.0.1:9/hook","events":["*"]}"#,
             #"{"url":"http://127.0.0.1:9/other","events":["*"]}"#, nil),
            ("/v1/workspaces/\(ws)/members/invite", #"{"email":"b@example.com","role":"viewer"}"#,
             #"{"email":"c@example.com","role":"viewer"}"#, "token"),
        ]
        for create in creates {
            let key = ("Idempotency-Key", "create-\(UUID().uuidString)")
            let first = try client.request("POST", create.path, headers: [account.bearer, key], body: create.body)
            #expect(first.status == 201, "\(create.path): \(first.text)")
            #expect(first.header("Idempotent-Replayed") == nil)
            // Whitespace does not make another request.
            let again = try client.request("POST", create.path, headers: [account.bearer, key],
                                           body: " " + create.body + "\n")
            #expect(again.status == 201, "\(create.path): \(again.text)")
            #expect(again.header("Idempotent-Replayed") == "true", "\(create.path)")
            #expect(again.header("Location") == first.header("Location"))
            #expect(again.json["id"] == first.json["id"], "\(create.path)")
            if let secret = create.secret {
                #expect(first.json[secret]?.stringValue?.isEmpty == false, "\(create.path): \(first.text)")
                #expect(again.json[secret] == nil, "\(secret) is never stored: \(again.text)")
            } else {
                #expect(again.json == first.json, "\(create.path): \(again.text) vs \(first.text)")
            }
            let conflict = try client.request("POST", create.path, headers: [account.bearer, key], body: create.other)
            #expect(conflict.status == 409, "\(create.path): \(conflict.text)")
            #expect(conflict.errorCode == "IDEMPOTENCY_CONFLICT")
            let malformed = try client.request("POST", create.path, headers: [account.bearer, ("Idempotency-Key", "")],
                                               body: create.other)
            #expect(malformed.status == 400, "\(create.path): \(malformed.text)")
        }
        // One of each was created.
        let workspaces = try client.request("GET", "/v1/user/workspaces", headers: [account.bearer])
        #expect(workspaces.json["data"]?.arrayValue?.count == 2, "\(workspaces.text)")
        let keys = try client.request("GET", "/v1/api-keys", headers: [account.bearer])
        #expect(keys.json["data"]?.arrayValue?.count == 1, "\(keys.text)")
        let hooks = try client.request("GET", "/v1/webhooks", headers: [account.bearer])
        #expect(hooks.json["data"]?.arrayValue?.count == 1, "\(hooks.text)")
    }

    @Test func aKeyBelongsToItsUser() throws {
        let server = try TestServer()
        let client = try server.client()
        let alice = try client.signUp()
        let bob = try client.signUp()
        let key = ("Idempotency-Key", "shared-key")
        let first = try client.request("POST", "/v1/workspaces", headers: [alice.bearer, key], body: #"{"name":"w"}"#)
        let second = try client.request("POST", "/v1/workspaces", headers: [bob.bearer, key], body: #"{"name":"w"}"#)
        #expect(first.status == 201 && second.status == 201)
        #expect(second.header("Idempotent-Replayed") == nil)
        #expect(first.json["id"] != second.json["id"])
    }
}
