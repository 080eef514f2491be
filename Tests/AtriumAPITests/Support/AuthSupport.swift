import AtriumCrypto
import AtriumJSON
import Foundation
import Glibc
import Testing

// Helpers for the credential, account, resolution and isolation tests (api.md §2–§5).

/// A JWT secret the tests know, so they can forge tokens the way an attacker (or a second
/// instance) would. At least 32 bytes, as the server requires.
let knownJWTSecret = "auth-tests-known-secret-0123456789abcdef"
let otherJWTSecret = "auth-tests-other-secret-fedcba9876543210"

/// The records route used for the header/query rule of api.md §3.
let recordsPath = "/v1/collections/items/records"

extension TestResponse {
    /// `error.details[].field` of a `VALIDATION_FAILED` envelope.
    var detailFields: [String] {
        (json["error"]?["details"]?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
    }

    /// True when this is the "no such route" answer of the router, not an answer of the endpoint.
    var isMissingRoute: Bool { status == 404 && errorCode == "NOT_FOUND" && header("X-Workspace-ID") == nil }
}

/// Checks the contract's error envelope: status, `error.code`, `success: false`, a message,
/// `request_id` = `X-Request-ID`, JSON content type, and `WWW-Authenticate: Bearer` on 401.
func expectError(_ response: TestResponse, _ status: Int, _ code: String, _ comment: String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) {
    let context = "\(comment) → \(response.status) \(response.text.prefix(300))"
    #expect(response.status == status, "status \(context)", sourceLocation: sourceLocation)
    #expect(response.errorCode == code, "code \(context)", sourceLocation: sourceLocation)
    #expect(response.json["success"]?.boolValue == false, "success:false \(context)", sourceLocation: sourceLocation)
    #expect(response.json["error"]?["message"]?.stringValue?.isEmpty == false, "message \(context)",
            sourceLocation: sourceLocation)
    #expect(response.json["error"]?["request_id"]?.stringValue == response.header("X-Request-ID"),
            "request_id \(context)", sourceLocation: sourceLocation)
    #expect(response.header("Content-Type")?.hasPrefix("application/json") == true, "content type \(context)",
            sourceLocation: sourceLocation)
    if status == 401 {
        #expect(response.header("WWW-Authenticate")?.lowercased().hasPrefix("bearer") == true,
                "WWW-Authenticate \(context)", sourceLocation: sourceLocation)
    }
}

/// RFC 3339 UTC with milliseconds, as the contract writes timestamps.
func isTimestamp(_ value: JSONValue?) -> Bool {
    guard let text = value?.stringValue else { return false }
    return text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil
}

/// A timestamp `seconds` from now in the contract's format.
func timestamp(secondsFromNow seconds: Double) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date().addingTimeInterval(seconds))
}

/// A JSON string literal (quotes and escapes) for building bodies by hand.
func jsonString(_ text: String) -> String {
    String(decoding: JSONValue.string(text).serialized(), as: UTF8.self)
}

func uniqueEmail(_ tag: String = "u") -> String {
    "\(tag)-\(UUID().uuidString.prefix(12).lowercased())@example.com"
}

// MARK: JWT forging

enum JWTForge {
    /// The server's key id for a secret: the first 16 hex characters of SHA-256(secret).
    static func keyID(_ secret: String) -> String {
        String(SHA256Digest.hex(SHA256Digest.hash(Array(secret.utf8))).prefix(16))
    }

    /// A compact JWT of the given header and payload JSON texts (taken verbatim, so that
    /// duplicate keys and odd shapes survive), signed with HMAC-SHA256 over the exact
    /// `header.payload` text. `padding` adds base64 `=` padding to both parts.
    static func token(header: String, payload: String, secret: String?, padding: Bool = false,
                      signatureOverride: String? = nil) -> String {
        var head = Base64.urlEncode(Array(header.utf8))
        var body = Base64.urlEncode(Array(payload.utf8))
        if padding {
            head += String(repeating: "=", count: (4 - head.count % 4) % 4)
            body += String(repeating: "=", count: (4 - body.count % 4) % 4)
        }
        let signingInput = head + "." + body
        if let signatureOverride { return signingInput + "." + signatureOverride }
        guard let secret else { return signingInput + "." }
        let mac = HMACSHA256.authenticationCode(key: Array(secret.utf8), message: Array(signingInput.utf8))
        return signingInput + "." + Base64.urlEncode(mac)
    }

    static func header(alg: String = "HS256", kid: String?) -> String {
        var text = #"{"alg":"\#(alg)","typ":"JWT""#
        if let kid { text += #","kid":"\#(kid)""# }
        return text + "}"
    }

    /// Access-token claims in the server's own order.
    static func payload(sub: String, sid: String, iat: Int64? = nil, exp: Int64? = nil, iss: String = "atrium",
                        aud: String = "atrium-api", tokenUse: String = "access", extra: String = "") -> String {
        let now = Int64(Date().timeIntervalSince1970)
        return #"{"iss":"\#(iss)","aud":"\#(aud)","sub":"\#(sub)","sid":"\#(sid)","iat":\#(iat ?? now),"exp":\#(exp ?? now + 600),"token_use":"\#(tokenUse)"\#(extra)}"#
    }

    /// The decoded header and payload of a compact JWT.
    static func decode(_ token: String) -> (header: JSONValue, payload: JSONValue)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let head = Base64.urlDecodeCanonical(String(parts[0])),
              let body = Base64.urlDecodeCanonical(String(parts[1])),
              let header = try? JSONParser.parse(head, rejectDuplicateKeys: true),
              let payload = try? JSONParser.parse(body, rejectDuplicateKeys: true) else { return nil }
        return (header, payload)
    }
}

// MARK: Requests

extension HTTPTestClient {
    /// `POST /v1/auth/login`.
    func login(_ email: String, _ password: String, headers: [(String, String)] = []) throws -> TestResponse {
        try request("POST", "/v1/auth/login", headers: headers,
                    body: #"{"email":\#(jsonString(email)),"password":\#(jsonString(password))}"#)
    }

    /// `POST /v1/auth/refresh`.
    func refresh(_ token: String) throws -> TestResponse {
        try request("POST", "/v1/auth/refresh", body: #"{"refresh_token":\#(jsonString(token))}"#)
    }

    /// `GET /v1/me` with a bearer token (JWT or API key).
    func me(_ token: String) throws -> TestResponse {
        try request("GET", "/v1/me", headers: [("Authorization", "Bearer \(token)")])
    }

    /// A `workspace`-mode key of `workspaceID`; returns its secret and id.
    func createWorkspaceKey(_ account: TestAccount, workspaceID: Int64, permissions: [String]? = nil)
        throws -> (secret: String, id: Int64)
    {
        var body = #"{"name":"wk""#
        if let permissions { body += #","permissions":[\#(permissions.map { "\"\($0)\"" }.joined(separator: ","))]"# }
        body += "}"
        let response = try request("POST", "/v1/workspaces/\(workspaceID)/api-keys", headers: [account.bearer], body: body)
        guard response.status == 201, let secret = response.json["secret"]?.stringValue,
              let id = response.json["id"]?.int64Value else {
            throw TestFailure("create workspace key failed: \(response.status) \(response.text)")
        }
        return (secret, id)
    }

    /// The ids of `GET /v1/user/workspaces` (a session).
    func workspaceIDs(_ account: TestAccount) throws -> [Int64] {
        let response = try request("GET", "/v1/user/workspaces", headers: [account.bearer])
        guard response.status == 200 else { throw TestFailure("list workspaces failed: \(response.status) \(response.text)") }
        return (response.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }
    }

    /// The caller's account-level keys (`GET /v1/api-keys`).
    func accountKeys(_ account: TestAccount) throws -> [JSONValue] {
        let response = try request("GET", "/v1/api-keys", headers: [account.bearer])
        guard response.status == 200 else { throw TestFailure("list keys failed: \(response.status) \(response.text)") }
        return response.json["data"]?.arrayValue ?? []
    }
}

extension HTTPTestClient {
    /// `owner` invites `member` into `workspaceID` with `role`, and `member` accepts.
    /// Returns the member id (for `/v1/workspaces/{id}/members/{memberId}`).
    @discardableResult
    func join(_ member: TestAccount, workspaceID: Int64, owner: TestAccount, role: String) throws -> Int64 {
        let invite = try request("POST", "/v1/workspaces/\(workspaceID)/members/invite", headers: [owner.bearer],
                                 body: #"{"email":"\#(member.email)","role":"\#(role)"}"#)
        guard invite.status == 201, let token = invite.json["token"]?.stringValue else {
            throw TestFailure("invite failed: \(invite.status) \(invite.text)")
        }
        let accepted = try request("POST", "/v1/workspaces/invitations/\(token)/accept", headers: [member.bearer])
        guard accepted.status == 200, let memberID = accepted.json["member"]?["id"]?.int64Value else {
            throw TestFailure("accept failed: \(accepted.status) \(accepted.text)")
        }
        return memberID
    }
}

/// Bearer header for any token or key secret.
func bearer(_ token: String) -> (String, String) { ("Authorization", "Bearer \(token)") }

/// A random string of base62 characters.
func randomBase62(_ count: Int) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    return String((0..<count).map { _ in alphabet.randomElement()! })
}

// MARK: A listener that records whether anyone connected

/// A TCP listener on 127.0.0.1 that never answers; `connectionAttempted()` says whether anyone
/// connected (used to prove that `jku`/`x5u` URLs are never fetched).
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestFailure("bind/listen failed: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    func connectionAttempted() -> Bool {
        let client = accept(fd, nil, nil)
        if client >= 0 {
            close(client)
            return true
        }
        return false
    }
}
