import AtriumJSON
import Foundation

/// A signed-up account as tests use it.
struct TestAccount {
    let userID: Int64
    let email: String
    let password: String
    let mainWorkspaceID: Int64
    var accessToken: String
    var refreshToken: String

    var bearer: (String, String) { ("Authorization", "Bearer \(accessToken)") }
}

extension HTTPTestClient {
    /// Signs up a fresh account (unique email) and returns its tokens.
    func signUp(email: String? = nil, password: String = "correct horse battery", name: String = "Test User") throws
        -> TestAccount
    {
        let address = email ?? "user-\(UUID().uuidString.prefix(12).lowercased())@example.com"
        let body = #"{"email":"\#(address)","password":"\#(password)","name":"\#(name)"}"#
        let response = try request("POST", "/v1/auth/signup", body: body)
        guard response.status == 201, let userID = response.json["user"]?["id"]?.int64Value,
              let workspaceID = response.json["workspace"]?["id"]?.int64Value,
              let access = response.json["access_token"]?.stringValue,
              let refresh = response.json["refresh_token"]?.stringValue
        else { throw TestFailure("signup failed: \(response.status) \(response.text)") }
        return TestAccount(userID: userID, email: address.lowercased(), password: password, mainWorkspaceID: workspaceID,
                           accessToken: access, refreshToken: refresh)
    }

    /// Creates a workspace for the account and returns its id.
    func createWorkspace(_ account: TestAccount, name: String = "Another") throws -> Int64 {
        let response = try request("POST", "/v1/workspaces", headers: [account.bearer], body: #"{"name":"\#(name)"}"#)
        guard response.status == 201, let id = response.json["id"]?.int64Value else {
            throw TestFailure("create workspace failed: \(response.status) \(response.text)")
        }
        return id
    }

    /// Creates an account-level key (`full` or `scoped`) and returns its secret and id.
    func createKey(_ account: TestAccount, mode: String, workspaceIDs: [Int64]? = nil, permissions: [String]? = nil)
        throws -> (secret: String, id: Int64)
    {
        var body = #"{"name":"k","mode":"\#(mode)""#
        if let workspaceIDs { body += #","workspace_ids":[\#(workspaceIDs.map(String.init).joined(separator: ","))]"# }
        if let permissions { body += #","permissions":[\#(permissions.map { "\"\($0)\"" }.joined(separator: ","))]"# }
        body += "}"
        let response = try request("POST", "/v1/api-keys", headers: [account.bearer], body: body)
        guard response.status == 201, let secret = response.json["secret"]?.stringValue,
              let id = response.json["id"]?.int64Value else {
            throw TestFailure("create key failed: \(response.status) \(response.text)")
        }
        return (secret, id)
    }
}
