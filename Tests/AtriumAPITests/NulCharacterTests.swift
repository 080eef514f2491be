import AtriumJSON
import Foundation
import Testing

/// Text fields refuse U+0000 with 400 VALIDATION_FAILED on both engines (PostgreSQL's text
/// cannot hold it; before this rule the same request was a 200 on SQLite and a 500 on
/// PostgreSQL). JSON values inside record data and metadata keep it: they are stored as JSON
/// text, where it is the escape `\u0000`.
@Suite("NUL characters in text fields")
struct NulCharacterTests {
    @Test("PATCH /v1/me, signup, workspace create and login with U+0000 in a string → 400, nothing written")
    func nulIsRefused() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()

        let rename = try client.request("PATCH", "/v1/me", headers: [account.bearer], body: #"{"name":"a\u0000b"}"#)
        expectError(rename, 400, "VALIDATION_FAILED", "PATCH /v1/me")
        #expect(try client.me(account.accessToken).json["user"]?["name"]?.stringValue == "Test User")

        let signup = try client.request("POST", "/v1/auth/signup",
                                        body: #"{"email":"nul@example.com","password":"correct horse battery","name":"x\u0000"}"#)
        expectError(signup, 400, "VALIDATION_FAILED", "signup")
        let login = try client.login("nul@example.com", "correct horse battery")
        #expect(login.status == 401, "no account was created: \(login.text)")

        let workspace = try client.request("POST", "/v1/workspaces", headers: [account.bearer],
                                           body: #"{"name":"w\u0000"}"#)
        expectError(workspace, 400, "VALIDATION_FAILED", "workspace create")
        #expect(try client.workspaceIDs(account).count == 1)

        let badLogin = try client.request("POST", "/v1/auth/login",
                                          body: #"{"email":"a\u0000@example.com","password":"x"}"#)
        #expect(badLogin.status == 400 || badLogin.status == 401, "never a 500: \(badLogin.text)")

        let record = try client.request("POST", "/v1/collections/n/records", headers: [account.bearer],
                                        body: #"{"data":{"k":"v\u0000w"}}"#)
        #expect(record.status == 201, "inside record data it is JSON text: \(record.text)")
    }
}
