import AtriumJSON
import Foundation
import Testing

/// api.md §4 over real sockets: signup, login (and its throttles), refresh, logout, and the
/// caller's own profile.
@Suite struct AccountTests {
    // MARK: Signup

    @Test func signupReturns201WithTheContractShape() throws {
        let server = try TestServer()
        let client = try server.client()
        let email = uniqueEmail("shape")
        let response = try client.request("POST", "/v1/auth/signup",
                                          body: #"{"email":"\#(email)","password":"correct horse","name":"Ada"}"#)
        #expect(response.status == 201, "\(response.text)")
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        let location = try #require(response.header("Location"))
        #expect(location.hasPrefix("/v1/"))
        let json = response.json
        let user = try #require(json["user"]?.objectValue)
        #expect(Set(user.keys) == ["id", "email", "name", "created_at"])
        let userID = try #require(json["user"]?["id"]?.int64Value)
        #expect(userID > 0)
        #expect(json["user"]?["email"]?.stringValue == email)
        #expect(json["user"]?["name"]?.stringValue == "Ada")
        #expect(isTimestamp(json["user"]?["created_at"]))

        let workspace = try #require(json["workspace"])
        let keys = Set(try #require(workspace.objectValue).keys)
        #expect(keys == ["id", "name", "is_main", "color", "owner_id", "role", "metadata", "created_at", "updated_at"])
        let workspaceID = try #require(workspace["id"]?.int64Value)
        #expect(workspaceID > 0)
        #expect(workspace["name"]?.stringValue == "Main")
        #expect(workspace["is_main"]?.boolValue == true)
        let color = try #require(workspace["color"])
        #expect(color.isNull || color.stringValue?.range(of: "^#[0-9A-Fa-f]{6}$", options: .regularExpression) != nil)
        #expect(workspace["owner_id"]?.int64Value == userID)
        #expect(workspace["role"]?.stringValue == "owner")
        #expect(workspace["metadata"]?.objectValue != nil)
        #expect(isTimestamp(workspace["created_at"]))
        #expect(isTimestamp(workspace["updated_at"]))

        let access = try #require(json["access_token"]?.stringValue)
        let refresh = try #require(json["refresh_token"]?.stringValue)
        #expect(!access.isEmpty && !refresh.isEmpty && access != refresh)
        #expect(json["token_type"]?.stringValue == "Bearer")
        let expiresIn = try #require(json["expires_in"]?.int64Value)
        #expect(expiresIn > 0)

        // The account is real: the token works and the main workspace is listed as main.
        let me = try client.me(access)
        #expect(me.status == 200)
        #expect(me.json["user"]?["id"]?.int64Value == userID)
        let listed = me.json["workspaces"]?.arrayValue ?? []
        #expect(listed.count == 1)
        #expect(listed.first?["id"]?.int64Value == workspaceID)
        #expect(listed.first?["is_main"]?.boolValue == true)
        // The password was not echoed anywhere.
        #expect(!response.text.contains("correct horse"))
    }

    @Test func signupTrimsAndLowerCasesTheEmail() throws {
        let server = try TestServer()
        let client = try server.client()
        let local = "MiXeD-\(UUID().uuidString.prefix(8))"
        let raw = "  \(local)@Example.COM  "
        let normalized = "\(local.lowercased())@example.com"
        let response = try client.request("POST", "/v1/auth/signup",
                                          body: #"{"email":"\#(raw)","password":"correct horse","name":"Mixed"}"#)
        #expect(response.status == 201, "\(response.text)")
        #expect(response.json["user"]?["email"]?.stringValue == normalized)
        let login = try client.login(normalized, "correct horse")
        #expect(login.status == 200, "\(login.text)")
        // The address as typed at signup logs in too.
        #expect(try client.login(raw, "correct horse").status == 200)
        // Unknown fields are ignored; a chosen id is not taken from the body.
        let withID = try client.request("POST", "/v1/auth/signup",
                                        body: #"{"id":777,"email":"\#(uniqueEmail())","password":"correct horse","name":"N","role":"admin"}"#)
        #expect(withID.status == 201, "\(withID.text)")
        #expect(withID.json["user"]?["id"]?.int64Value != 777)
        let me = try client.me(try #require(login.json["access_token"]?.stringValue))
        #expect(me.json["user"]?["email"]?.stringValue == normalized)
    }

    @Test(arguments: [false, true])
    func signupWithATakenEmailIs409(differentCase: Bool) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp(name: "First")
        let again = differentCase ? account.email.uppercased() : account.email
        let response = try client.request("POST", "/v1/auth/signup",
                                          body: #"{"email":"\#(again)","password":"another password","name":"Second"}"#)
        expectError(response, 409, "EMAIL_TAKEN")
        // Nothing written: the second password does not log in, the first still does, the name is unchanged.
        expectError(try client.login(account.email, "another password"), 401, "INVALID_CREDENTIALS")
        let login = try client.login(account.email, account.password)
        #expect(login.status == 200)
        let me = try client.me(account.accessToken)
        #expect(me.json["user"]?["name"]?.stringValue == "First")
        #expect(me.json["workspaces"]?.arrayValue?.count == 1)
    }

    struct InvalidSignup: CustomTestStringConvertible, Sendable {
        let label: String
        let field: String
        /// The body, with `EMAIL` standing for a fresh address.
        let body: String
        /// Whether the body holds the fresh address (so "nothing was written" can be checked).
        var hasEmail: Bool { body.contains("\"EMAIL\"") }
        var testDescription: String { label }
    }

    static let invalidSignups: [InvalidSignup] = [
        InvalidSignup(label: "missing email", field: "email", body: #"{"password":"correct horse","name":"N"}"#),
        InvalidSignup(label: "missing password", field: "password", body: #"{"email":"EMAIL","name":"N"}"#),
        InvalidSignup(label: "missing name", field: "name", body: #"{"email":"EMAIL","password":"correct horse"}"#),
        InvalidSignup(label: "password of 7 chars", field: "password",
                      body: #"{"email":"EMAIL","password":"1234567","name":"N"}"#),
        InvalidSignup(label: "password of 257 chars", field: "password",
                      body: #"{"email":"EMAIL","password":"\#(String(repeating: "p", count: 257))","name":"N"}"#),
        InvalidSignup(label: "bad email", field: "email",
                      body: #"{"email":"not-an-email","password":"correct horse","name":"N"}"#),
        InvalidSignup(label: "name of the wrong type", field: "name",
                      body: #"{"email":"EMAIL","password":"correct horse","name":42}"#),
    ]

    @Test(arguments: invalidSignups)
    func signupValidationFailures(_ case_: InvalidSignup) throws {
        let server = try TestServer()
        let client = try server.client()
        let email = uniqueEmail("invalid")
        let response = try client.request("POST", "/v1/auth/signup",
                                          body: case_.body.replacingOccurrences(of: "EMAIL", with: email))
        expectError(response, 400, "VALIDATION_FAILED", case_.label)
        #expect(response.detailFields.contains(case_.field), "details: \(response.text)")
        if case_.hasEmail {
            // Nothing written: that email has no account, and can still sign up.
            expectError(try client.login(email, "correct horse"), 401, "INVALID_CREDENTIALS")
            let later = try client.request("POST", "/v1/auth/signup",
                                           body: #"{"email":"\#(email)","password":"correct horse","name":"N"}"#)
            #expect(later.status == 201, "\(later.text)")
        }
    }

    @Test func signupPasswordBoundsOf8And256AreAccepted() throws {
        let server = try TestServer()
        let client = try server.client()
        for length in [8, 256] {
            let email = uniqueEmail("bound")
            let password = String(repeating: "q", count: length)
            let response = try client.request("POST", "/v1/auth/signup",
                                              body: #"{"email":"\#(email)","password":"\#(password)","name":"N"}"#)
            #expect(response.status == 201, "length \(length): \(response.text)")
            #expect(try client.login(email, password).status == 200)
        }
    }

    struct BadJSON: CustomTestStringConvertible, Sendable {
        let label: String
        let body: String
        var testDescription: String { label }
    }

    static let badJSONBodies: [BadJSON] = [
        BadJSON(label: "malformed JSON", body: #"{"email":"EMAIL","password":"correct horse","name":"N""#),
        BadJSON(label: "a JSON array", body: #"[{"email":"EMAIL","password":"correct horse","name":"N"}]"#),
        BadJSON(label: "an empty body", body: ""),
        BadJSON(label: "duplicate keys",
                body: #"{"email":"EMAIL","password":"correct horse","name":"N","email":"other-EMAIL"}"#),
    ]

    @Test(arguments: badJSONBodies)
    func signupWithInvalidJSONIs400(_ case_: BadJSON) throws {
        let server = try TestServer()
        let client = try server.client()
        let email = uniqueEmail("json")
        let response = try client.request("POST", "/v1/auth/signup",
                                          body: case_.body.replacingOccurrences(of: "EMAIL", with: email))
        expectError(response, 400, "INVALID_JSON", case_.label)
        expectError(try client.login(email, "correct horse"), 401, "INVALID_CREDENTIALS")
        expectError(try client.login("other-\(email)", "correct horse"), 401, "INVALID_CREDENTIALS")
        let later = try client.request("POST", "/v1/auth/signup",
                                       body: #"{"email":"\#(email)","password":"correct horse","name":"N"}"#)
        #expect(later.status == 201, "\(later.text)")
    }

    @Test(arguments: ["text/plain", nil] as [String?])
    func signupWithoutJSONContentTypeIs415(contentType: String?) throws {
        let server = try TestServer()
        let client = try server.client()
        let email = uniqueEmail("media")
        let body = #"{"email":"\#(email)","password":"correct horse","name":"N"}"#
        let headers = contentType.map { [("Content-Type", $0)] } ?? []
        let response = try client.request("POST", "/v1/auth/signup", headers: headers, body: body, json: false)
        expectError(response, 415, "UNSUPPORTED_MEDIA_TYPE")
        expectError(try client.login(email, "correct horse"), 401, "INVALID_CREDENTIALS")
        // With parameters the media type is still JSON.
        let later = try client.request("POST", "/v1/auth/signup",
                                       headers: [("Content-Type", "application/json; charset=utf-8")], body: body)
        #expect(later.status == 201, "\(later.text)")
    }

    @Test func signupDisabledIs403() throws {
        let server = try TestServer(["--allow-signup", "false"])
        let client = try server.client()
        let email = uniqueEmail("closed")
        let response = try client.request("POST", "/v1/auth/signup",
                                          body: #"{"email":"\#(email)","password":"correct horse","name":"N"}"#)
        expectError(response, 403, "SIGNUP_DISABLED")
        expectError(try client.login(email, "correct horse"), 401, "INVALID_CREDENTIALS")
    }

    // MARK: Login

    @Test func loginReturnsAWorkingTokenPair() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let response = try client.login(account.email, account.password)
        #expect(response.status == 200, "\(response.text)")
        let access = try #require(response.json["access_token"]?.stringValue)
        let refresh = try #require(response.json["refresh_token"]?.stringValue)
        #expect(response.json["token_type"]?.stringValue == "Bearer")
        #expect((response.json["expires_in"]?.int64Value ?? 0) > 0)
        #expect(access != account.accessToken && refresh != account.refreshToken)
        let me = try client.me(access)
        #expect(me.status == 200)
        #expect(me.json["user"]?["id"]?.int64Value == account.userID)
        #expect(try client.refresh(refresh).status == 200)
    }

    @Test func loginAndRefreshValidateTheirBodies() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        expectError(try client.request("POST", "/v1/auth/login", body: #"{"email":"\#(account.email)"}"#), 400,
                    "VALIDATION_FAILED", "login without password")
        expectError(try client.request("POST", "/v1/auth/login", body: #"{"password":"x"}"#), 400, "VALIDATION_FAILED",
                    "login without email")
        expectError(try client.request("POST", "/v1/auth/login", body: #"{"email":1,"password":"x"}"#), 400,
                    "VALIDATION_FAILED", "login email not a string")
        expectError(try client.request("POST", "/v1/auth/login", body: "[]"), 400, "INVALID_JSON")
        expectError(try client.request("POST", "/v1/auth/login", headers: [("Content-Type", "text/plain")],
                                       body: #"{"email":"\#(account.email)","password":"\#(account.password)"}"#, json: false),
                    415, "UNSUPPORTED_MEDIA_TYPE")
        expectError(try client.request("POST", "/v1/auth/refresh", body: #"{}"#), 400, "VALIDATION_FAILED", "refresh without token")
        expectError(try client.request("POST", "/v1/auth/refresh", body: #"{"refresh_token":"#), 400, "INVALID_JSON")
        // None of these spent or revoked anything.
        #expect(try client.refresh(account.refreshToken).status == 200)
    }

    @Test func unknownEmailAndWrongPasswordAnswerTheSame401() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let requestID = [("X-Request-ID", "same-login-probe")]
        let wrongPassword = try client.login(account.email, "not the password", headers: requestID)
        let unknownEmail = try client.login(uniqueEmail("nobody"), "not the password", headers: requestID)
        expectError(wrongPassword, 401, "INVALID_CREDENTIALS")
        expectError(unknownEmail, 401, "INVALID_CREDENTIALS")
        #expect(wrongPassword.body == unknownEmail.body, "\(wrongPassword.text) vs \(unknownEmail.text)")
        #expect(wrongPassword.header("WWW-Authenticate") == unknownEmail.header("WWW-Authenticate"))
        #expect(wrongPassword.json["access_token"] == nil)
    }

    @Test func loginFailuresPerAccountAreThrottled() throws {
        let server = try TestServer(["--login-failures-per-account", "3"])
        let client = try server.client()
        let account = try client.signUp()
        let bystander = try client.signUp()
        for attempt in 1...3 {
            expectError(try client.login(account.email, "wrong password \(attempt)"), 401, "INVALID_CREDENTIALS",
                        "attempt \(attempt)")
        }
        let fourth = try client.login(account.email, account.password)
        expectError(fourth, 429, "RATE_LIMITED", "4th attempt, right password")
        let retryAfter = try #require(fourth.header("Retry-After"), "\(fourth.headers)")
        let seconds = try #require(Int(retryAfter), "Retry-After \(retryAfter) is not an integer")
        #expect(seconds > 0)
        #expect(fourth.json["access_token"] == nil)
        // The throttle is per account: another account still logs in (same address, few failures).
        #expect(try client.login(bystander.email, bystander.password).status == 200)
    }

    @Test func loginFailuresPerAddressAreThrottledAcrossEmails() throws {
        let server = try TestServer(["--login-failures-per-address", "3"])
        let client = try server.client()
        let account = try client.signUp()
        for attempt in 1...3 {
            expectError(try client.login(uniqueEmail("spray"), "wrong password"), 401, "INVALID_CREDENTIALS",
                        "attempt \(attempt)")
        }
        let blocked = try client.login(account.email, account.password)
        expectError(blocked, 429, "RATE_LIMITED", "4th attempt from the address")
        let seconds = blocked.header("Retry-After").flatMap { Int($0) }
        #expect((seconds ?? 0) > 0, "Retry-After: \(String(describing: blocked.header("Retry-After")))")
    }

    @Test func behindATrustedProxyTheForwardedClientIsThrottledAndAudited() throws {
        let server = try TestServer(["--login-failures-per-address", "3", "--trusted-proxies", "127.0.0.1/32"])
        let client = try server.client()
        let account = try client.signUp()
        let attacker = [("X-Forwarded-For", "198.51.100.66, 203.0.113.10")]
        for attempt in 1...3 {
            expectError(try client.login(uniqueEmail("spray"), "wrong password", headers: attacker), 401,
                        "INVALID_CREDENTIALS", "attempt \(attempt)")
        }
        // The attacker's forwarded address is throttled, even if it changes the part it writes itself...
        let spoofed = [("X-Forwarded-For", "192.0.2.1, 203.0.113.10")]
        expectError(try client.login(account.email, account.password, headers: spoofed), 429, "RATE_LIMITED",
                    "the same forwarded client")
        // ...while another client behind the same proxy still logs in.
        let neighbour = [("X-Forwarded-For", "203.0.113.11")]
        #expect(try client.login(account.email, account.password, headers: neighbour).status == 200)

        // The audit log records the forwarded address.
        let rename = try client.request("PATCH", "/v1/workspaces/\(account.mainWorkspaceID)",
                                        headers: [account.bearer, ("X-Forwarded-For", "203.0.113.12")],
                                        body: #"{"name":"Renamed behind a proxy"}"#)
        #expect(rename.status == 200, "\(rename.text)")
        let entries = try Admin.auditEntries(client, account.bearer, account.mainWorkspaceID)
        #expect(entries.first?["ip"]?.stringValue == "203.0.113.12", "\(entries.first.map { "\($0)" } ?? "none")")
    }

    @Test func withoutTrustedProxiesForwardedForIsIgnored() throws {
        let server = try TestServer(["--login-failures-per-address", "3"])
        let client = try server.client()
        let account = try client.signUp()
        for attempt in 1...3 {
            // A client that names a new address each time is still one address.
            expectError(try client.login(uniqueEmail("spray"), "wrong password",
                                         headers: [("X-Forwarded-For", "203.0.113.\(attempt)")]),
                        401, "INVALID_CREDENTIALS", "attempt \(attempt)")
        }
        expectError(try client.login(account.email, account.password, headers: [("X-Forwarded-For", "203.0.113.99")]),
                    429, "RATE_LIMITED", "4th attempt from the same peer")
        let rename = try client.request("PATCH", "/v1/workspaces/\(account.mainWorkspaceID)",
                                        headers: [account.bearer, ("X-Forwarded-For", "203.0.113.12")],
                                        body: #"{"name":"Renamed"}"#)
        #expect(rename.status == 200)
        let entries = try Admin.auditEntries(client, account.bearer, account.mainWorkspaceID)
        #expect(entries.first?["ip"]?.stringValue == "127.0.0.1")
    }

    // MARK: Refresh

    @Test func refreshRotatesThePair() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let first = try client.refresh(account.refreshToken)
        #expect(first.status == 200, "\(first.text)")
        let access = try #require(first.json["access_token"]?.stringValue)
        let refresh = try #require(first.json["refresh_token"]?.stringValue)
        #expect(first.json["token_type"]?.stringValue == "Bearer")
        #expect(refresh != account.refreshToken)
        #expect(try client.me(access).status == 200)
        // The new refresh token rotates again.
        let second = try client.refresh(refresh)
        #expect(second.status == 200, "\(second.text)")
        #expect(second.json["refresh_token"]?.stringValue != refresh)
    }

    @Test func reusingASpentRefreshTokenRevokesTheSession() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let other = try client.login(account.email, account.password)
        let otherAccess = try #require(other.json["access_token"]?.stringValue)

        let rotated = try client.refresh(account.refreshToken)
        #expect(rotated.status == 200)
        let access = try #require(rotated.json["access_token"]?.stringValue)
        let refresh = try #require(rotated.json["refresh_token"]?.stringValue)
        #expect(try client.me(access).status == 200)

        let replay = try client.refresh(account.refreshToken)
        expectError(replay, 401, "INVALID_TOKEN", "spent refresh token")
        // The whole session is gone: its newest access token and refresh token included.
        expectError(try client.me(access), 401, "INVALID_TOKEN", "access token of the revoked session")
        expectError(try client.me(account.accessToken), 401, "INVALID_TOKEN", "first access token of the session")
        expectError(try client.refresh(refresh), 401, "INVALID_TOKEN", "newest refresh token of the session")
        // Another session of the same user is untouched.
        #expect(try client.me(otherAccess).status == 200)
    }

    @Test(arguments: ["garbage", "art_" + String(repeating: "A", count: 43)])
    func refreshWithGarbageIs401(token: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let response = try client.refresh(token)
        expectError(response, 401, "INVALID_TOKEN")
        #expect(response.json["access_token"] == nil)
        #expect(try client.refresh(account.refreshToken).status == 200)
    }

    // MARK: Logout

    @Test func logoutRevokesTheSessionAtOnce() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let other = try client.login(account.email, account.password)
        let otherAccess = try #require(other.json["access_token"]?.stringValue)
        let response = try client.request("POST", "/v1/auth/logout", headers: [account.bearer])
        #expect(response.status == 204, "\(response.text)")
        #expect(response.body.isEmpty)
        expectError(try client.me(account.accessToken), 401, "INVALID_TOKEN", "access token after logout")
        expectError(try client.refresh(account.refreshToken), 401, "INVALID_TOKEN", "refresh token after logout")
        expectError(try client.request("POST", "/v1/auth/logout", headers: [account.bearer]), 401, "INVALID_TOKEN")
        #expect(try client.me(otherAccess).status == 200)
    }

    @Test func logoutWithAnAPIKeyIsSessionRequired() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full")
        expectError(try client.request("POST", "/v1/auth/logout", headers: [bearer(key.secret)]), 403, "SESSION_REQUIRED")
        expectError(try client.request("POST", "/v1/auth/logout", headers: [("X-API-Key", key.secret)]), 403,
                    "SESSION_REQUIRED")
        #expect(try client.me(key.secret).status == 200)
        #expect(try client.me(account.accessToken).status == 200)
    }

    @Test func logoutWithoutACredentialIs401() throws {
        let server = try TestServer()
        let client = try server.client()
        expectError(try client.request("POST", "/v1/auth/logout"), 401, "UNAUTHENTICATED")
        expectError(try client.request("GET", "/v1/me"), 401, "UNAUTHENTICATED")
    }

    // MARK: GET /v1/me

    @Test func meWithAJWT() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp(name: "Grace")
        let second = try client.createWorkspace(account, name: "Second")
        let response = try client.me(account.accessToken)
        #expect(response.status == 200, "\(response.text)")
        let user = try #require(response.json["user"]?.objectValue)
        #expect(Set(user.keys) == ["id", "email", "name", "created_at"])
        #expect(response.json["user"]?["id"]?.int64Value == account.userID)
        #expect(response.json["user"]?["email"]?.stringValue == account.email)
        #expect(response.json["user"]?["name"]?.stringValue == "Grace")
        let workspaces = response.json["workspaces"]?.arrayValue ?? []
        #expect(Set(workspaces.compactMap { $0["id"]?.int64Value }) == [account.mainWorkspaceID, second])
        for workspace in workspaces {
            let id = workspace["id"]?.int64Value
            #expect(workspace["is_main"]?.boolValue == (id == account.mainWorkspaceID))
            #expect(workspace["role"]?.stringValue == "owner")
            #expect(workspace["owner_id"]?.int64Value == account.userID)
        }
        #expect(response.json["credential"]?["type"]?.stringValue == "jwt")
        #expect(response.json["credential"]?["key"] == nil || response.json["credential"]?["key"]?.isNull == true)
    }

    @Test func meWithKeysShowsTheKeyAndOnlyWhatItReaches() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let second = try client.createWorkspace(account, name: "Second")
        let third = try client.createWorkspace(account, name: "Third")
        let full = try client.createKey(account, mode: "full")
        let scoped = try client.createKey(account, mode: "scoped", workspaceIDs: [second])
        let bound = try client.createWorkspaceKey(account, workspaceID: third)

        let cases: [(String, (secret: String, id: Int64), String, Set<Int64>)] = [
            ("full", full, "full", [account.mainWorkspaceID, second, third]),
            ("scoped", scoped, "scoped", [second]),
            ("workspace", bound, "workspace", [third]),
        ]
        for (label, key, mode, reach) in cases {
            let response = try client.me(key.secret)
            #expect(response.status == 200, "\(label): \(response.text)")
            #expect(response.json["user"]?["id"]?.int64Value == account.userID)
            #expect(response.json["credential"]?["type"]?.stringValue == "api_key", "\(label)")
            let object = try #require(response.json["credential"]?["key"], "\(label): \(response.text)")
            #expect(object["id"]?.int64Value == key.id)
            #expect(object["mode"]?.stringValue == mode)
            #expect(object["prefix"]?.stringValue == String(key.secret.prefix(12)))
            #expect(object["created_by"]?.int64Value == account.userID)
            #expect(object["secret"] == nil, "\(label): the secret is shown once only")
            #expect(!response.text.contains(key.secret), "\(label): secret leaked")
            let workspaces = response.json["workspaces"]?.arrayValue ?? []
            #expect(Set(workspaces.compactMap { $0["id"]?.int64Value }) == reach, "\(label): \(response.text)")
            #expect(workspaces.count == reach.count)
            let listed = try client.request("GET", "/v1/workspaces", headers: [bearer(key.secret)])
            #expect(listed.status == 200, "\(label): \(listed.text)")
            #expect(Set((listed.json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.int64Value }) == reach, "\(label)")
        }
        #expect(try client.request("GET", "/v1/me", headers: [("X-API-Key", scoped.secret)]).json["workspaces"]?
            .arrayValue?.count == 1)
    }

    // MARK: PATCH /v1/me

    @Test func patchMeChangesTheName() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp(name: "Before")
        let response = try client.request("PATCH", "/v1/me", headers: [account.bearer], body: #"{"name":"After"}"#)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json["user"]?["name"]?.stringValue == "After")
        #expect(response.json["user"]?["id"]?.int64Value == account.userID)
        #expect(response.json["workspaces"]?.arrayValue != nil)
        #expect(response.json["credential"]?["type"]?.stringValue == "jwt")
        #expect(try client.me(account.accessToken).json["user"]?["name"]?.stringValue == "After")
    }

    @Test(arguments: [#"{"name":""}"#, #"{"name":42}"#, #"{"main_workspace_id":"x"}"#, #"{"main_workspace_id":0}"#])
    func patchMeValidationFailures(body: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp(name: "Kept")
        let response = try client.request("PATCH", "/v1/me", headers: [account.bearer], body: body)
        expectError(response, 400, "VALIDATION_FAILED", body)
        #expect(!response.detailFields.isEmpty)
        let me = try client.me(account.accessToken)
        #expect(me.json["user"]?["name"]?.stringValue == "Kept")
        let main = me.json["workspaces"]?.arrayValue?.first { $0["is_main"]?.boolValue == true }
        #expect(main?["id"]?.int64Value == account.mainWorkspaceID)
    }

    @Test func patchMeMovesTheMainWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let second = try client.createWorkspace(account, name: "Second")
        let response = try client.request("PATCH", "/v1/me", headers: [account.bearer],
                                          body: #"{"main_workspace_id":\#(second)}"#)
        #expect(response.status == 200, "\(response.text)")
        let mains = (response.json["workspaces"]?.arrayValue ?? []).filter { $0["is_main"]?.boolValue == true }
        #expect(mains.compactMap { $0["id"]?.int64Value } == [second])
        let listed = try client.request("GET", "/v1/user/workspaces", headers: [account.bearer])
        let listedMains = (listed.json["data"]?.arrayValue ?? []).filter { $0["is_main"]?.boolValue == true }
        #expect(listedMains.compactMap { $0["id"]?.int64Value } == [second])
    }

    @Test func patchMeMainMustBeALiveOwnedWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let stranger = try client.signUp()
        let requestID = [("X-Request-ID", "patch-me-main")]
        let foreign = try client.request("PATCH", "/v1/me", headers: [account.bearer] + requestID,
                                         body: #"{"main_workspace_id":\#(stranger.mainWorkspaceID)}"#)
        expectError(foreign, 403, "CROSS_TENANT_WORKSPACE", "another user's workspace")
        let missing = try client.request("PATCH", "/v1/me", headers: [account.bearer] + requestID,
                                         body: #"{"main_workspace_id":987654321}"#)
        expectError(missing, 403, "CROSS_TENANT_WORKSPACE", "no such workspace")
        #expect(foreign.body == missing.body)
        // Nothing changed, for either user; a failed main change does not apply the name either.
        let combined = try client.request("PATCH", "/v1/me", headers: [account.bearer],
                                          body: #"{"name":"Changed","main_workspace_id":\#(stranger.mainWorkspaceID)}"#)
        expectError(combined, 403, "CROSS_TENANT_WORKSPACE")
        let me = try client.me(account.accessToken)
        #expect(me.json["user"]?["name"]?.stringValue == "Test User")
        let mains = (me.json["workspaces"]?.arrayValue ?? []).filter { $0["is_main"]?.boolValue == true }
        #expect(mains.compactMap { $0["id"]?.int64Value } == [account.mainWorkspaceID])
    }

    @Test func patchMeMainCannotBeAJoinedWorkspace() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let owner = try client.signUp()
        let shared = try client.createWorkspace(owner, name: "Shared")
        try client.join(account, workspaceID: shared, owner: owner, role: "admin")
        #expect(try client.workspaceIDs(account).contains(shared))
        let response = try client.request("PATCH", "/v1/me", headers: [account.bearer],
                                          body: #"{"main_workspace_id":\#(shared)}"#)
        expectError(response, 403, "CROSS_TENANT_WORKSPACE", "member (admin) but not owner")
        let mains = (try client.me(account.accessToken).json["workspaces"]?.arrayValue ?? [])
            .filter { $0["is_main"]?.boolValue == true }
        #expect(mains.compactMap { $0["id"]?.int64Value } == [account.mainWorkspaceID])
    }

    @Test func patchMeWithAKeyIsSessionRequired() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp(name: "Kept")
        let key = try client.createKey(account, mode: "full")
        expectError(try client.request("PATCH", "/v1/me", headers: [bearer(key.secret)], body: #"{"name":"Nope"}"#),
                    403, "SESSION_REQUIRED")
        #expect(try client.me(account.accessToken).json["user"]?["name"]?.stringValue == "Kept")
    }

    // MARK: GET /v1/user/workspaces

    @Test func userWorkspacesListsTheSessionUsersWorkspaces() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let second = try client.createWorkspace(account, name: "Second")
        _ = try client.signUp() // someone else's workspaces never appear
        let response = try client.request("GET", "/v1/user/workspaces", headers: [account.bearer])
        #expect(response.status == 200, "\(response.text)")
        let data = try #require(response.json["data"]?.arrayValue)
        #expect(Set(data.compactMap { $0["id"]?.int64Value }) == [account.mainWorkspaceID, second])
        #expect(data.count == 2)
        for workspace in data {
            #expect(Set(workspace.objectValue?.keys ?? []) ==
                    ["id", "name", "is_main", "color", "owner_id", "role", "metadata", "created_at", "updated_at"])
        }
    }

    @Test func userWorkspacesWithAKeyIsSessionRequired() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let full = try client.createKey(account, mode: "full")
        let bound = try client.createWorkspaceKey(account, workspaceID: account.mainWorkspaceID)
        for secret in [full.secret, bound.secret] {
            expectError(try client.request("GET", "/v1/user/workspaces", headers: [bearer(secret)]), 403,
                        "SESSION_REQUIRED")
        }
    }
}
