import AtriumCrypto
import AtriumJSON
import Foundation
import Testing

/// api.md §2 over real sockets: JWT access tokens (forged with a known secret) and API keys
/// of every mode (§5).
@Suite struct CredentialTests {
    /// A server with a known JWT secret and one account, plus the claims of its real token.
    struct JWTFixture {
        let server: TestServer
        let client: HTTPTestClient
        let account: TestAccount
        let sub: String
        let sid: String
    }

    static func jwtFixture(_ flags: [String] = []) throws -> JWTFixture {
        let server = try TestServer(["--jwt-secret", knownJWTSecret] + flags)
        let client = try server.client()
        let account = try client.signUp()
        let decoded = try #require(JWTForge.decode(account.accessToken), "access token is not a canonical JWT")
        let sub = try #require(decoded.payload["sub"]?.stringValue)
        let sid = try #require(decoded.payload["sid"]?.stringValue)
        return JWTFixture(server: server, client: client, account: account, sub: sub, sid: sid)
    }

    // MARK: JWT

    @Test func accessTokensCarryTheContractClaims() throws {
        let fixture = try Self.jwtFixture()
        let decoded = try #require(JWTForge.decode(fixture.account.accessToken))
        #expect(decoded.header["alg"]?.stringValue == "HS256")
        #expect(decoded.header["kid"]?.stringValue == JWTForge.keyID(knownJWTSecret))
        let claims = decoded.payload
        #expect(claims["iss"]?.stringValue == "atrium")
        #expect(claims["aud"]?.stringValue == "atrium-api")
        #expect(claims["sub"]?.stringValue == String(fixture.account.userID))
        #expect(Int64(fixture.sid).map { $0 > 0 } == true, "sid \(fixture.sid)")
        #expect(claims["token_use"]?.stringValue == "access")
        let iat = try #require(claims["iat"]?.int64Value)
        let exp = try #require(claims["exp"]?.int64Value)
        #expect(exp - iat == 900, "default access TTL is 15 min")
        let now = Int64(Date().timeIntervalSince1970)
        #expect(abs(iat - now) < 120)
    }

    @Test func accessTokenTTLFollowsConfiguration() throws {
        let server = try TestServer(["--access-token-ttl", "120"])
        let client = try server.client()
        let response = try client.request("POST", "/v1/auth/signup",
                                          body: #"{"email":"\#(uniqueEmail())","password":"correct horse","name":"T"}"#)
        #expect(response.json["expires_in"]?.int64Value == 120)
        let token = try #require(response.json["access_token"]?.stringValue)
        let claims = try #require(JWTForge.decode(token)).payload
        #expect((claims["exp"]?.int64Value ?? 0) - (claims["iat"]?.int64Value ?? 0) == 120)
    }

    @Test func aTokenForgedWithTheServerSecretForARealSessionWorks() throws {
        let fixture = try Self.jwtFixture()
        let token = JWTForge.token(header: JWTForge.header(kid: JWTForge.keyID(knownJWTSecret)),
                                   payload: JWTForge.payload(sub: fixture.sub, sid: fixture.sid), secret: knownJWTSecret)
        let response = try fixture.client.me(token)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json["user"]?["id"]?.int64Value == fixture.account.userID)
        #expect(response.json["credential"]?["type"]?.stringValue == "jwt")
    }

    @Test func anExpiredTokenIsTokenExpired() throws {
        let fixture = try Self.jwtFixture()
        let now = Int64(Date().timeIntervalSince1970)
        let token = JWTForge.token(header: JWTForge.header(kid: JWTForge.keyID(knownJWTSecret)),
                                   payload: JWTForge.payload(sub: fixture.sub, sid: fixture.sid, iat: now - 1000,
                                                             exp: now - 120),
                                   secret: knownJWTSecret)
        expectError(try fixture.client.me(token), 401, "TOKEN_EXPIRED")
        // Within the 60 s leeway it still works.
        let lenient = JWTForge.token(header: JWTForge.header(kid: JWTForge.keyID(knownJWTSecret)),
                                     payload: JWTForge.payload(sub: fixture.sub, sid: fixture.sid, iat: now - 1000,
                                                               exp: now - 20),
                                     secret: knownJWTSecret)
        #expect(try fixture.client.me(lenient).status == 200)
    }

    enum BadToken: String, CaseIterable, Sendable {
        case algNone, algNoneMixedCase, algHS512, algMissing, wrongSignature, emptySignature, unknownKid, critHeader
        case wrongIssuer, wrongAudience, refreshTokenUse, oversized, duplicatePayloadKey, paddedBase64
        case subjectNotAString, missingExp, otherUsersSubject, unknownSession, expiredAndBadSignature
        case notYetValid, strayBitsInSignature, standardBase64Alphabet, algNotAString, expNotAnInteger

        /// The same token with `-`/`_` written as `+`/`/` (and signed over that text).
        static func standardAlphabet(sub: String, sid: String) -> String {
            let header = JWTForge.header(kid: JWTForge.keyID(knownJWTSecret))
            for filler in ["", "a", "aa"] {
                let payload = JWTForge.payload(sub: sub, sid: sid, extra: #","z":"\#(filler)~~~???""#)
                let encoded = Base64.urlEncode(Array(payload.utf8))
                guard encoded.contains("-") || encoded.contains("_") else { continue }
                let head = Base64.urlEncode(Array(header.utf8))
                let body = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                let input = head + "." + body
                let mac = HMACSHA256.authenticationCode(key: Array(knownJWTSecret.utf8), message: Array(input.utf8))
                return input + "." + Base64.urlEncode(mac)
            }
            fatalError("no payload with - or _ found")
        }

        func token(sub: String, sid: String) -> String {
            let kid = JWTForge.keyID(knownJWTSecret)
            let good = JWTForge.header(kid: kid)
            let now = Int64(Date().timeIntervalSince1970)
            switch self {
            case .algNone:
                return JWTForge.token(header: JWTForge.header(alg: "none", kid: kid),
                                      payload: JWTForge.payload(sub: sub, sid: sid), secret: nil)
            case .algNoneMixedCase:
                return JWTForge.token(header: JWTForge.header(alg: "nOnE", kid: kid),
                                      payload: JWTForge.payload(sub: sub, sid: sid), secret: nil)
            case .algHS512:
                return JWTForge.token(header: JWTForge.header(alg: "HS512", kid: kid),
                                      payload: JWTForge.payload(sub: sub, sid: sid), secret: knownJWTSecret)
            case .algMissing:
                return JWTForge.token(header: #"{"typ":"JWT","kid":"\#(kid)"}"#,
                                      payload: JWTForge.payload(sub: sub, sid: sid), secret: knownJWTSecret)
            case .wrongSignature:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid), secret: otherJWTSecret)
            case .emptySignature:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid), secret: nil)
            case .unknownKid:
                return JWTForge.token(header: JWTForge.header(kid: "0123456789abcdef"),
                                      payload: JWTForge.payload(sub: sub, sid: sid), secret: knownJWTSecret)
            case .critHeader:
                return JWTForge.token(header: #"{"alg":"HS256","typ":"JWT","kid":"\#(kid)","crit":["exp"]}"#,
                                      payload: JWTForge.payload(sub: sub, sid: sid), secret: knownJWTSecret)
            case .wrongIssuer:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid, iss: "evil"),
                                      secret: knownJWTSecret)
            case .wrongAudience:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid, aud: "other-api"),
                                      secret: knownJWTSecret)
            case .refreshTokenUse:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid, tokenUse: "refresh"),
                                      secret: knownJWTSecret)
            case .oversized:
                let filler = #","x":"\#(String(repeating: "a", count: 9 * 1024))""#
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid, extra: filler),
                                      secret: knownJWTSecret)
            case .duplicatePayloadKey:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid, extra: #","sub":"\#(sub)""#),
                                      secret: knownJWTSecret)
            case .paddedBase64:
                // Pick claims whose base64url needs padding, so that `=` is really added.
                for extra in ["", #","p":1"#, #","p":12"#] {
                    let payload = JWTForge.payload(sub: sub, sid: sid, extra: extra)
                    let length = (payload.utf8.count * 4 + 2) / 3
                    if length % 4 != 0 {
                        return JWTForge.token(header: good, payload: payload, secret: knownJWTSecret, padding: true)
                    }
                }
                fatalError("unreachable")
            case .subjectNotAString:
                let payload = #"{"iss":"atrium","aud":"atrium-api","sub":\#(sub),"sid":"\#(sid)","iat":\#(now),"exp":\#(now + 600),"token_use":"access"}"#
                return JWTForge.token(header: good, payload: payload, secret: knownJWTSecret)
            case .missingExp:
                let payload = #"{"iss":"atrium","aud":"atrium-api","sub":"\#(sub)","sid":"\#(sid)","iat":\#(now),"token_use":"access"}"#
                return JWTForge.token(header: good, payload: payload, secret: knownJWTSecret)
            case .otherUsersSubject:
                // A real session id with a subject that is not its user.
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: String((Int64(sub) ?? 1) + 1000), sid: sid),
                                      secret: knownJWTSecret)
            case .unknownSession:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: "987654321"),
                                      secret: knownJWTSecret)
            case .notYetValid:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid, extra: #","nbf":\#(now + 600)"#),
                                      secret: knownJWTSecret)
            case .strayBitsInSignature:
                // 32 bytes → 43 characters whose last one carries 2 unused bits; set one.
                let valid = JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid), secret: knownJWTSecret)
                let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
                let index = alphabet.firstIndex(of: valid.last!)!
                return String(valid.dropLast()) + String(alphabet[index | 1])
            case .standardBase64Alphabet:
                return Self.standardAlphabet(sub: sub, sid: sid)
            case .algNotAString:
                return JWTForge.token(header: #"{"alg":256,"typ":"JWT","kid":"\#(kid)"}"#,
                                      payload: JWTForge.payload(sub: sub, sid: sid), secret: knownJWTSecret)
            case .expNotAnInteger:
                let payload = #"{"iss":"atrium","aud":"atrium-api","sub":"\#(sub)","sid":"\#(sid)","iat":\#(now),"exp":"\#(now + 600)","token_use":"access"}"#
                return JWTForge.token(header: good, payload: payload, secret: knownJWTSecret)
            case .expiredAndBadSignature:
                return JWTForge.token(header: good, payload: JWTForge.payload(sub: sub, sid: sid, iat: now - 1000, exp: now - 500),
                                      secret: otherJWTSecret)
            }
        }
    }

    @Test(arguments: BadToken.allCases)
    func badTokensAreInvalidToken(_ kind: BadToken) throws {
        let fixture = try Self.jwtFixture()
        let token = kind.token(sub: fixture.sub, sid: fixture.sid)
        let response = try fixture.client.me(token)
        expectError(response, 401, "INVALID_TOKEN", kind.rawValue)
        #expect(response.json["user"] == nil)
        // Also refused on a workspace route, and the real token of that session still works.
        expectError(try fixture.client.request("GET", "/v1/workspaces/\(fixture.account.mainWorkspaceID)",
                                               headers: [bearer(token)]), 401, "INVALID_TOKEN", kind.rawValue)
        #expect(try fixture.client.me(fixture.account.accessToken).status == 200)
    }

    @Test func hugeTimeClaimsNeverTrap() throws {
        let fixture = try Self.jwtFixture()
        let now = Int64(Date().timeIntervalSince1970)
        let kid = JWTForge.keyID(knownJWTSecret)
        let cases: [(String, String, Set<Int>)] = [
            ("exp = Int64.max", JWTForge.payload(sub: fixture.sub, sid: fixture.sid, exp: Int64.max), [200, 401]),
            ("iat = Int64.max", JWTForge.payload(sub: fixture.sub, sid: fixture.sid, iat: Int64.max), [401]),
            ("exp = Int64.min", JWTForge.payload(sub: fixture.sub, sid: fixture.sid, exp: Int64.min), [401]),
            ("iat = Int64.min", JWTForge.payload(sub: fixture.sub, sid: fixture.sid, iat: Int64.min), [200, 401]),
            ("nbf = Int64.max", JWTForge.payload(sub: fixture.sub, sid: fixture.sid, extra: #","nbf":9223372036854775807"#), [401]),
            ("exp beyond Int64",
             #"{"iss":"atrium","aud":"atrium-api","sub":"\#(fixture.sub)","sid":"\#(fixture.sid)","iat":\#(now),"exp":1e400,"token_use":"access"}"#,
             [401]),
            ("exp of 30 digits",
             #"{"iss":"atrium","aud":"atrium-api","sub":"\#(fixture.sub)","sid":"\#(fixture.sid)","iat":\#(now),"exp":123456789012345678901234567890,"token_use":"access"}"#,
             [401]),
        ]
        for (label, payload, allowed) in cases {
            let token = JWTForge.token(header: JWTForge.header(kid: kid), payload: payload, secret: knownJWTSecret)
            let response = try fixture.client.me(token)
            #expect(allowed.contains(response.status), "\(label): \(response.status) \(response.text)")
            if response.status == 401 {
                #expect(response.errorCode == "INVALID_TOKEN" || response.errorCode == "TOKEN_EXPIRED", "\(label)")
            }
        }
        // Still alive.
        let fresh = try fixture.server.client()
        #expect(try fresh.request("GET", "/healthz").status == 200)
        #expect(try fresh.me(fixture.account.accessToken).status == 200)
    }

    @Test func keyURLsInTheHeaderAreNeverFetched() throws {
        let fixture = try Self.jwtFixture()
        let listener = try SilentListener()
        let url = "http://127.0.0.1:\(listener.port)/keys"
        let kid = JWTForge.keyID(knownJWTSecret)
        let payload = JWTForge.payload(sub: fixture.sub, sid: fixture.sid)
        let unknownKid = #"{"alg":"HS256","typ":"JWT","kid":"feedfacefeedface","jku":"\#(url)","x5u":"\#(url)"}"#
        let knownKid = #"{"alg":"HS256","typ":"JWT","kid":"\#(kid)","jku":"\#(url)","x5u":"\#(url)"}"#
        let embeddedKey = #"{"alg":"HS256","typ":"JWT","kid":"feedfacefeedface","jwk":{"kty":"oct","k":"\#(Base64.urlEncode(Array(otherJWTSecret.utf8)))"}}"#
        expectError(try fixture.client.me(JWTForge.token(header: unknownKid, payload: payload, secret: otherJWTSecret)),
                    401, "INVALID_TOKEN", "unknown kid with jku/x5u")
        expectError(try fixture.client.me(JWTForge.token(header: embeddedKey, payload: payload, secret: otherJWTSecret)),
                    401, "INVALID_TOKEN", "key embedded as jwk")
        let known = try fixture.client.me(JWTForge.token(header: knownKid, payload: payload, secret: knownJWTSecret))
        #expect(known.status == 200 || known.status == 401, "\(known.text)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(!listener.connectionAttempted(), "the server connected to a URL named in a token header")
    }

    @Test func malformedAuthorizationHeadersAre401() throws {
        let fixture = try Self.jwtFixture()
        let values = ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b", "Bearer a.b.c.d", "Bearer ...",
                      "Bearer " + fixture.account.accessToken + "x", fixture.account.accessToken]
        for value in values {
            let response = try fixture.client.request("GET", "/v1/me", headers: [("Authorization", value)])
            #expect(response.status == 401, "\(value): \(response.text)")
            #expect(response.errorCode == "INVALID_TOKEN" || response.errorCode == "UNAUTHENTICATED", "\(value)")
            #expect(response.header("WWW-Authenticate")?.lowercased().hasPrefix("bearer") == true)
        }
    }

    @Test func tokensSignedWithThePreviousSecretWorkAfterRotation() throws {
        let first = try TestServer(["--jwt-secret", knownJWTSecret])
        let directory = first.dataDirectory
        let account = try first.client().signUp()
        let decoded = try #require(JWTForge.decode(account.accessToken))
        #expect(decoded.header["kid"]?.stringValue == JWTForge.keyID(knownJWTSecret))
        let sub = try #require(decoded.payload["sub"]?.stringValue)
        let sid = try #require(decoded.payload["sid"]?.stringValue)
        first.stop()

        let rotated = try TestServer(["--jwt-secret", otherJWTSecret, "--jwt-previous-secret", knownJWTSecret],
                                     dataDirectory: directory)
        let client = try rotated.client()
        #expect(try client.me(account.accessToken).status == 200, "token of the previous key after rotation")
        let forgedPrevious = JWTForge.token(header: JWTForge.header(kid: JWTForge.keyID(knownJWTSecret)),
                                            payload: JWTForge.payload(sub: sub, sid: sid), secret: knownJWTSecret)
        #expect(try client.me(forgedPrevious).status == 200)
        let forgedCurrent = JWTForge.token(header: JWTForge.header(kid: JWTForge.keyID(otherJWTSecret)),
                                           payload: JWTForge.payload(sub: sub, sid: sid), secret: otherJWTSecret)
        #expect(try client.me(forgedCurrent).status == 200)
        // A kid and a key that do not belong together fail.
        let mixed = JWTForge.token(header: JWTForge.header(kid: JWTForge.keyID(knownJWTSecret)),
                                   payload: JWTForge.payload(sub: sub, sid: sid), secret: otherJWTSecret)
        expectError(try client.me(mixed), 401, "INVALID_TOKEN")
        // New tokens are signed with the current key.
        let login = try client.login(account.email, account.password)
        let fresh = try #require(login.json["access_token"]?.stringValue)
        #expect(JWTForge.decode(fresh)?.header["kid"]?.stringValue == JWTForge.keyID(otherJWTSecret))
        rotated.stop()

        // Once the previous key is dropped, its tokens stop working.
        let dropped = try TestServer(["--jwt-secret", otherJWTSecret], dataDirectory: directory)
        let after = try dropped.client()
        expectError(try after.me(account.accessToken), 401, "INVALID_TOKEN")
        #expect(try after.me(fresh).status == 200)
    }

    // MARK: API keys

    @Test func createFullAndScopedKeys() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let second = try client.createWorkspace(account, name: "Second")

        let full = try client.request("POST", "/v1/api-keys", headers: [account.bearer],
                                      body: #"{"name":"ci","mode":"full"}"#)
        #expect(full.status == 201, "\(full.text)")
        #expect(full.header("Location")?.hasPrefix("/v1/") == true)
        let scoped = try client.request("POST", "/v1/api-keys", headers: [account.bearer],
                                        body: #"{"name":"reporting","mode":"scoped","workspace_ids":[\#(second)],"permissions":["content:read"]}"#)
        #expect(scoped.status == 201, "\(scoped.text)")

        for (response, mode, name) in [(full, "full", "ci"), (scoped, "scoped", "reporting")] {
            let secret = try #require(response.json["secret"]?.stringValue)
            #expect(secret.hasPrefix("atr_"), "\(secret)")
            #expect(secret.count >= 36)
            #expect(secret.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            #expect(response.json["prefix"]?.stringValue == String(secret.prefix(12)))
            #expect((response.json["id"]?.int64Value ?? 0) > 0)
            #expect(response.json["name"]?.stringValue == name)
            #expect(response.json["mode"]?.stringValue == mode)
            #expect(response.json["created_by"]?.int64Value == account.userID)
            #expect(isTimestamp(response.json["created_at"]))
            #expect(response.json["last_used_at"]?.isNull == true)
            #expect(response.json["expires_at"]?.isNull == true)
            #expect(response.json["permissions"] != nil)
        }
        #expect(scoped.json["workspace_ids"]?.arrayValue?.compactMap { $0.int64Value } == [second])
        #expect(scoped.json["permissions"]?.arrayValue?.compactMap { $0.stringValue } == ["content:read"])
        #expect(full.json["secret"]?.stringValue != scoped.json["secret"]?.stringValue)
    }

    @Test func listingKeysNeverShowsSecrets() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let full = try client.createKey(account, mode: "full")
        let scoped = try client.createKey(account, mode: "scoped", workspaceIDs: [account.mainWorkspaceID])
        let bound = try client.createWorkspaceKey(account, workspaceID: account.mainWorkspaceID)
        let response = try client.request("GET", "/v1/api-keys", headers: [account.bearer])
        #expect(response.status == 200, "\(response.text)")
        let data = try #require(response.json["data"]?.arrayValue)
        // Account-level keys only: the workspace key is listed under its workspace.
        #expect(Set(data.compactMap { $0["id"]?.int64Value }) == [full.id, scoped.id])
        #expect(response.json["next_cursor"] != nil)
        for key in data {
            #expect(key["secret"] == nil)
            #expect(key["prefix"]?.stringValue?.count == 12)
        }
        for secret in [full.secret, scoped.secret, bound.secret] {
            #expect(!response.text.contains(secret))
            #expect(!response.text.contains(String(secret.dropFirst(12))))
        }
    }

    @Test func aKeyWorksAsBearerAndAsXAPIKey() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full")
        for header in [bearer(key.secret), ("X-API-Key", key.secret), ("authorization", "bearer \(key.secret)")] {
            let response = try client.request("GET", "/v1/me", headers: [header])
            #expect(response.status == 200, "\(header.0): \(response.text)")
            #expect(response.json["credential"]?["key"]?["id"]?.int64Value == key.id)
            let workspace = try client.request("GET", "/v1/workspaces/\(account.mainWorkspaceID)", headers: [header])
            #expect(workspace.status == 200, "\(workspace.text)")
            #expect(workspace.header("X-Workspace-ID") == String(account.mainWorkspaceID))
        }
    }

    @Test func twoCredentialsAtOnceAreBadRequest() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full")
        let other = try client.createKey(account, mode: "full")
        let combos: [[(String, String)]] = [
            [bearer(key.secret), ("X-API-Key", key.secret)],
            [bearer(account.accessToken), ("X-API-Key", key.secret)],
            [("X-API-Key", key.secret), ("X-API-Key", other.secret)],
            [bearer(key.secret), bearer(other.secret)],
        ]
        for headers in combos {
            expectError(try client.request("GET", "/v1/me", headers: headers), 400, "BAD_REQUEST",
                        headers.map(\.0).joined(separator: "+"))
        }
    }

    @Test func unknownOrGarbledKeysAreInvalidToken() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full")
        let last = key.secret.last!
        let garbled = String(key.secret.dropLast()) + (last == "A" ? "B" : "A")
        let candidates = ["atr_" + randomBase62(40), garbled, String(key.secret.dropLast()), key.secret + "0",
                          "atr_", "not-a-key", key.secret.uppercased()]
        for candidate in candidates where candidate != key.secret {
            expectError(try client.request("GET", "/v1/me", headers: [bearer(candidate)]), 401, "INVALID_TOKEN",
                        "Bearer \(candidate)")
            expectError(try client.request("GET", "/v1/me", headers: [("X-API-Key", candidate)]), 401, "INVALID_TOKEN",
                        "X-API-Key \(candidate)")
        }
        #expect(try client.me(key.secret).status == 200)
    }

    @Test func deletingAKeyRevokesItAtOnce() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full")
        let kept = try client.createKey(account, mode: "full")
        #expect(try client.me(key.secret).status == 200)
        let deleted = try client.request("DELETE", "/v1/api-keys/\(key.id)", headers: [account.bearer])
        #expect(deleted.status == 204, "\(deleted.text)")
        #expect(deleted.body.isEmpty)
        expectError(try client.me(key.secret), 401, "INVALID_TOKEN")
        expectError(try client.request("GET", "/v1/me", headers: [("X-API-Key", key.secret)]), 401, "INVALID_TOKEN")
        #expect(try client.accountKeys(account).compactMap { $0["id"]?.int64Value } == [kept.id])
        expectError(try client.request("DELETE", "/v1/api-keys/\(key.id)", headers: [account.bearer]), 404, "NOT_FOUND")
        #expect(try client.me(kept.secret).status == 200)
    }

    @Test func updatingAKeyRenamesAndNarrowsItAtOnce() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full")
        let path = "/v1/workspaces/\(account.mainWorkspaceID)"
        #expect(try client.request("GET", path, headers: [bearer(key.secret)]).status == 200)
        let updated = try client.request("PUT", "/v1/api-keys/\(key.id)", headers: [account.bearer],
                                         body: #"{"name":"renamed","permissions":["content:read"]}"#)
        #expect(updated.status == 200, "\(updated.text)")
        #expect(updated.json["name"]?.stringValue == "renamed")
        #expect(updated.json["permissions"]?.arrayValue?.compactMap { $0.stringValue } == ["content:read"])
        #expect(updated.json["mode"]?.stringValue == "full")
        #expect(updated.json["secret"] == nil)
        expectError(try client.request("GET", path, headers: [bearer(key.secret)]), 403, "PERMISSION_DENIED")
        let listed = try client.accountKeys(account).first { $0["id"]?.int64Value == key.id }
        #expect(listed?["name"]?.stringValue == "renamed")
        // The same secret keeps working for what it still may do.
        #expect(try client.me(key.secret).status == 200)
    }

    @Test func expiresAtInThePastIsValidationFailed() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let response = try client.request("POST", "/v1/api-keys", headers: [account.bearer],
                                          body: #"{"name":"old","mode":"full","expires_at":"\#(timestamp(secondsFromNow: -60))"}"#)
        expectError(response, 400, "VALIDATION_FAILED")
        #expect(response.detailFields.contains("expires_at"), "\(response.text)")
        #expect(response.json["secret"] == nil)
        #expect(try client.accountKeys(account).isEmpty)
        let bad = try client.request("POST", "/v1/api-keys", headers: [account.bearer],
                                     body: #"{"name":"bad","mode":"full","expires_at":"tomorrow"}"#)
        expectError(bad, 400, "VALIDATION_FAILED")
        #expect(try client.accountKeys(account).isEmpty)
    }

    @Test func aKeyStopsWorkingWhenItExpires() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let lifetime = 3.0
        let created = Date()
        let response = try client.request("POST", "/v1/api-keys", headers: [account.bearer],
                                          body: #"{"name":"short","mode":"full","expires_at":"\#(timestamp(secondsFromNow: lifetime))"}"#)
        #expect(response.status == 201, "\(response.text)")
        #expect(isTimestamp(response.json["expires_at"]))
        let secret = try #require(response.json["secret"]?.stringValue)
        #expect(try client.me(secret).status == 200)
        let wait = lifetime + 1.5 - Date().timeIntervalSince(created)
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        expectError(try client.me(secret), 401, "INVALID_TOKEN")
        expectError(try client.request("GET", "/v1/me", headers: [("X-API-Key", secret)]), 401, "INVALID_TOKEN")
    }

    @Test func keyPermissionsIntersectTheRole() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full", permissions: ["content:read"])
        let response = try client.request("GET", "/v1/workspaces/\(account.mainWorkspaceID)", headers: [bearer(key.secret)])
        expectError(response, 403, "PERMISSION_DENIED")
        #expect(response.json["name"] == nil)
        let reader = try client.createKey(account, mode: "full", permissions: ["workspace:read"])
        #expect(try client.request("GET", "/v1/workspaces/\(account.mainWorkspaceID)",
                                   headers: [bearer(reader.secret)]).status == 200)
        // Unknown permission names are a validation failure.
        let unknown = try client.request("POST", "/v1/api-keys", headers: [account.bearer],
                                         body: #"{"name":"x","mode":"full","permissions":["root:all"]}"#)
        expectError(unknown, 400, "VALIDATION_FAILED")
        #expect(unknown.detailFields.contains("permissions"))
    }

    @Test func aKeyNeverGetsMoreThanItsUser() throws {
        let server = try TestServer()
        let client = try server.client()
        let owner = try client.signUp()
        let viewer = try client.signUp()
        let shared = try client.createWorkspace(owner, name: "Shared")
        let full = try client.createKey(viewer, mode: "full")
        let writer = try client.createKey(viewer, mode: "full", permissions: ["content:write", "workspace:update"])
        // Full keys reach workspaces joined later, at once.
        expectError(try client.request("GET", "/v1/workspaces/\(shared)", headers: [bearer(full.secret)]), 403,
                    "CROSS_TENANT_WORKSPACE", "before joining")
        try client.join(viewer, workspaceID: shared, owner: owner, role: "viewer")
        let read = try client.request("GET", "/v1/workspaces/\(shared)", headers: [bearer(full.secret)])
        #expect(read.status == 200, "\(read.text)")
        #expect(read.json["role"]?.stringValue == "viewer")
        for secret in [full.secret, writer.secret, viewer.accessToken] {
            expectError(try client.request("PATCH", "/v1/workspaces/\(shared)", headers: [bearer(secret)],
                                           body: #"{"name":"Renamed"}"#), 403, "PERMISSION_DENIED", "viewer renames")
            expectError(try client.request("POST", recordsPath, headers: [bearer(secret), ("X-Workspace-ID", String(shared))],
                                           body: #"{"data":{"a":1}}"#), 403, "PERMISSION_DENIED", "viewer writes")
        }
        // A viewer cannot mint workspace keys either (api_keys:write).
        expectError(try client.request("POST", "/v1/workspaces/\(shared)/api-keys", headers: [viewer.bearer],
                                       body: #"{"name":"x"}"#), 403, "PERMISSION_DENIED")
        expectError(try client.request("GET", "/v1/workspaces/\(shared)/api-keys", headers: [viewer.bearer]), 403,
                    "PERMISSION_DENIED")
        #expect(try client.request("GET", "/v1/workspaces/\(shared)", headers: [owner.bearer]).json["name"]?.stringValue
            == "Shared")
        let records = try client.request("GET", recordsPath, headers: [owner.bearer, ("X-Workspace-ID", String(shared))])
        #expect(records.json["data"]?.arrayValue?.isEmpty == true)
    }

    @Test func aScopedKeyNamingAForeignWorkspaceIsCrossTenant() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let stranger = try client.signUp()
        let requestID = ("X-Request-ID", "scoped-foreign")
        let foreign = try client.request("POST", "/v1/api-keys", headers: [account.bearer, requestID],
                                         body: #"{"name":"x","mode":"scoped","workspace_ids":[\#(account.mainWorkspaceID),\#(stranger.mainWorkspaceID)]}"#)
        expectError(foreign, 403, "CROSS_TENANT_WORKSPACE")
        let missing = try client.request("POST", "/v1/api-keys", headers: [account.bearer, requestID],
                                         body: #"{"name":"x","mode":"scoped","workspace_ids":[987654321]}"#)
        expectError(missing, 403, "CROSS_TENANT_WORKSPACE")
        #expect(foreign.body == missing.body)
        #expect(try client.accountKeys(account).isEmpty)

        // Widening an existing scoped key to a foreign workspace is refused too, and changes nothing.
        let key = try client.createKey(account, mode: "scoped", workspaceIDs: [account.mainWorkspaceID])
        let widen = try client.request("PUT", "/v1/api-keys/\(key.id)", headers: [account.bearer],
                                       body: #"{"name":"wide","workspace_ids":[\#(stranger.mainWorkspaceID)]}"#)
        expectError(widen, 403, "CROSS_TENANT_WORKSPACE")
        let me = try client.me(key.secret)
        #expect(me.json["workspaces"]?.arrayValue?.compactMap { $0["id"]?.int64Value } == [account.mainWorkspaceID])
        #expect(me.json["credential"]?["key"]?["name"]?.stringValue == "k")
        expectError(try client.request("GET", "/v1/workspaces/\(stranger.mainWorkspaceID)", headers: [bearer(key.secret)]),
                    403, "CROSS_TENANT_WORKSPACE")
    }

    @Test func narrowingAScopedKeysAllowListTakesEffectAtOnce() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let second = try client.createWorkspace(account, name: "Second")
        let third = try client.createWorkspace(account, name: "Third")
        let key = try client.createKey(account, mode: "scoped", workspaceIDs: [second, third])
        #expect(try client.request("GET", "/v1/workspaces/\(third)", headers: [bearer(key.secret)]).status == 200)
        let updated = try client.request("PUT", "/v1/api-keys/\(key.id)", headers: [account.bearer],
                                         body: #"{"name":"narrow","workspace_ids":[\#(second)]}"#)
        #expect(updated.status == 200, "\(updated.text)")
        #expect(updated.json["workspace_ids"]?.arrayValue?.compactMap { $0.int64Value } == [second])
        #expect(updated.json["mode"]?.stringValue == "scoped")
        expectError(try client.request("GET", "/v1/workspaces/\(third)", headers: [bearer(key.secret)]), 403,
                    "CROSS_TENANT_WORKSPACE")
        #expect(try client.request("GET", "/v1/workspaces/\(second)", headers: [bearer(key.secret)]).status == 200)
        let me = try client.me(key.secret)
        #expect(me.json["workspaces"]?.arrayValue?.compactMap { $0["id"]?.int64Value } == [second])
        let listed = try client.request("GET", "/v1/workspaces", headers: [bearer(key.secret)])
        #expect(listed.json["data"]?.arrayValue?.compactMap { $0["id"]?.int64Value } == [second])
        // Expiry in the past on update is refused and changes nothing.
        let expired = try client.request("PUT", "/v1/api-keys/\(key.id)", headers: [account.bearer],
                                         body: #"{"name":"narrow","expires_at":"\#(timestamp(secondsFromNow: -5))"}"#)
        expectError(expired, 400, "VALIDATION_FAILED")
        #expect(try client.me(key.secret).status == 200)
    }

    @Test func keyModesAndAllowListsAreValidated() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let bodies: [(String, String)] = [
            (#"{"name":"x","mode":"workspace"}"#, "mode"),
            (#"{"name":"x","mode":"everything"}"#, "mode"),
            // `mode` omitted is `full` (api.md §5), but not with an allow-list (APIKeyModeTests).
            (#"{"name":"x","workspace_ids":[1]}"#, "mode"),
            (#"{"mode":"full"}"#, "name"),
            (#"{"name":"","mode":"full"}"#, "name"),
            (#"{"name":"x","mode":"scoped"}"#, "workspace_ids"),
            (#"{"name":"x","mode":"scoped","workspace_ids":[]}"#, "workspace_ids"),
            (#"{"name":"x","mode":"scoped","workspace_ids":["1"]}"#, "workspace_ids"),
            (#"{"name":"x","mode":"full","permissions":"content:read"}"#, "permissions"),
            (#"{"name":"x","mode":"full","expires_at":"2020-01-01"}"#, "expires_at"),
        ]
        for (body, field) in bodies {
            let response = try client.request("POST", "/v1/api-keys", headers: [account.bearer], body: body)
            expectError(response, 400, "VALIDATION_FAILED", body)
            #expect(response.detailFields.contains(field), "\(body): \(response.text)")
        }
        #expect(try client.accountKeys(account).isEmpty)
    }

    @Test func fieldsAClientMayNotSetAreNeverTakenFromABody() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let stranger = try client.signUp()
        let bound = try client.request("POST", "/v1/workspaces/\(account.mainWorkspaceID)/api-keys", headers: [account.bearer],
                                       body: #"{"name":"x","workspace_id":\#(stranger.mainWorkspaceID),"id":424242,"created_by":\#(stranger.userID),"mode":"full"}"#)
        #expect(bound.status == 201, "\(bound.text)")
        #expect(bound.json["workspace_id"]?.int64Value == account.mainWorkspaceID)
        #expect(bound.json["mode"]?.stringValue == "workspace")
        #expect(bound.json["created_by"]?.int64Value == account.userID)
        #expect(bound.json["id"]?.int64Value != 424242)
        let full = try client.request("POST", "/v1/api-keys", headers: [account.bearer],
                                      body: #"{"name":"y","mode":"full","created_by":\#(stranger.userID),"secret":"atr_chosen"}"#)
        #expect(full.status == 201, "\(full.text)")
        #expect(full.json["created_by"]?.int64Value == account.userID)
        #expect(full.json["secret"]?.stringValue != "atr_chosen")
        let secret = try #require(bound.json["secret"]?.stringValue)
        expectError(try client.request("GET", "/v1/workspaces/\(stranger.mainWorkspaceID)", headers: [bearer(secret)]), 403,
                    "CROSS_TENANT_WORKSPACE")
    }

    @Test func sessionOnlyEndpointsRefuseKeys() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let full = try client.createKey(account, mode: "full")
        let scoped = try client.createKey(account, mode: "scoped", workspaceIDs: [account.mainWorkspaceID])
        let bound = try client.createWorkspaceKey(account, workspaceID: account.mainWorkspaceID)
        let calls: [(String, String, String?)] = [
            ("GET", "/v1/api-keys", nil),
            ("POST", "/v1/api-keys", #"{"name":"x","mode":"full"}"#),
            ("PUT", "/v1/api-keys/\(full.id)", #"{"name":"x"}"#),
            ("DELETE", "/v1/api-keys/\(scoped.id)", nil),
            ("PATCH", "/v1/me", #"{"name":"Changed"}"#),
            ("POST", "/v1/workspaces", #"{"name":"ViaKey"}"#),
            ("POST", "/v1/auth/logout", nil),
            ("GET", "/v1/user/workspaces", nil),
            ("GET", "/v1/workspaces/\(account.mainWorkspaceID)/api-keys", nil),
            ("POST", "/v1/workspaces/\(account.mainWorkspaceID)/api-keys", #"{"name":"x"}"#),
            ("PUT", "/v1/workspaces/\(account.mainWorkspaceID)/api-keys/\(bound.id)", #"{"name":"x"}"#),
            ("DELETE", "/v1/workspaces/\(account.mainWorkspaceID)/api-keys/\(bound.id)", nil),
        ]
        for (label, secret) in [("full", full.secret), ("scoped", scoped.secret), ("workspace", bound.secret)] {
            for (method, path, body) in calls {
                for header in [bearer(secret), ("X-API-Key", secret)] {
                    let response = try client.request(method, path, headers: [header], body: body)
                    expectError(response, 403, "SESSION_REQUIRED", "\(label) key \(header.0): \(method) \(path)")
                }
            }
        }
        // Nothing was written.
        #expect(try client.workspaceIDs(account) == [account.mainWorkspaceID])
        #expect(Set(try client.accountKeys(account).compactMap { $0["name"]?.stringValue }) == ["k"])
        #expect(try client.accountKeys(account).count == 2)
        #expect(try client.me(account.accessToken).json["user"]?["name"]?.stringValue == "Test User")
        for secret in [full.secret, scoped.secret, bound.secret] {
            #expect(try client.me(secret).status == 200)
        }
    }

    @Test func workspaceKeysLifecycle() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let second = try client.createWorkspace(account, name: "Second")
        let base = "/v1/workspaces/\(account.mainWorkspaceID)/api-keys"

        let created = try client.request("POST", base, headers: [account.bearer],
                                         body: #"{"name":"sms-gateway","permissions":["content:read","workspace:read"]}"#)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.header("Location")?.hasPrefix("/v1/") == true)
        let keyID = try #require(created.json["id"]?.int64Value)
        let secret = try #require(created.json["secret"]?.stringValue)
        #expect(secret.hasPrefix("atr_") && secret.count >= 36)
        #expect(created.json["prefix"]?.stringValue == String(secret.prefix(12)))
        #expect(created.json["mode"]?.stringValue == "workspace")
        #expect(created.json["workspace_id"]?.int64Value == account.mainWorkspaceID)
        #expect(created.json["name"]?.stringValue == "sms-gateway")
        #expect(created.json["created_by"]?.int64Value == account.userID)
        #expect(created.header("X-Workspace-ID") == String(account.mainWorkspaceID))

        let listed = try client.request("GET", base, headers: [account.bearer])
        #expect(listed.status == 200, "\(listed.text)")
        let data = listed.json["data"]?.arrayValue ?? []
        #expect(data.compactMap { $0["id"]?.int64Value } == [keyID])
        #expect(data.first?["secret"] == nil)
        #expect(!listed.text.contains(secret))
        // Not listed under another workspace, nor among the account-level keys.
        let elsewhere = try client.request("GET", "/v1/workspaces/\(second)/api-keys", headers: [account.bearer])
        #expect(elsewhere.status == 200)
        #expect(elsewhere.json["data"]?.arrayValue?.isEmpty == true)
        #expect(try client.accountKeys(account).isEmpty)

        // The key reaches its workspace.
        let me = try client.me(secret)
        #expect(me.json["credential"]?["key"]?["workspace_id"]?.int64Value == account.mainWorkspaceID)

        // Another workspace's path cannot touch it.
        expectError(try client.request("PUT", "/v1/workspaces/\(second)/api-keys/\(keyID)", headers: [account.bearer],
                                       body: #"{"name":"stolen"}"#), 404, "NOT_FOUND")
        expectError(try client.request("DELETE", "/v1/workspaces/\(second)/api-keys/\(keyID)", headers: [account.bearer]),
                    404, "NOT_FOUND")
        // Nor the account-level key routes.
        expectError(try client.request("DELETE", "/v1/api-keys/\(keyID)", headers: [account.bearer]), 404, "NOT_FOUND")
        #expect(try client.me(secret).status == 200)

        let renamed = try client.request("PUT", "\(base)/\(keyID)", headers: [account.bearer],
                                         body: #"{"name":"renamed","permissions":["content:read"]}"#)
        #expect(renamed.status == 200, "\(renamed.text)")
        #expect(renamed.json["name"]?.stringValue == "renamed")
        #expect(renamed.json["workspace_id"]?.int64Value == account.mainWorkspaceID)
        #expect(renamed.json["permissions"]?.arrayValue?.compactMap { $0.stringValue } == ["content:read"])
        expectError(try client.request("GET", "/v1/workspaces/\(account.mainWorkspaceID)", headers: [bearer(secret)]),
                    403, "PERMISSION_DENIED")

        let deleted = try client.request("DELETE", "\(base)/\(keyID)", headers: [account.bearer])
        #expect(deleted.status == 204, "\(deleted.text)")
        expectError(try client.me(secret), 401, "INVALID_TOKEN")
        #expect(try client.request("GET", base, headers: [account.bearer]).json["data"]?.arrayValue?.isEmpty == true)
        expectError(try client.request("DELETE", "\(base)/\(keyID)", headers: [account.bearer]), 404, "NOT_FOUND")
    }

    @Test func workspaceKeyValidation() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let base = "/v1/workspaces/\(account.mainWorkspaceID)/api-keys"
        for body in [#"{}"#, #"{"name":""}"#, #"{"name":"x","permissions":["nope"]}"#,
                     #"{"name":"x","expires_at":"\#(timestamp(secondsFromNow: -10))"}"#] {
            expectError(try client.request("POST", base, headers: [account.bearer], body: body), 400, "VALIDATION_FAILED",
                        body)
        }
        expectError(try client.request("POST", base, headers: [account.bearer], body: "[1]"), 400, "INVALID_JSON")
        #expect(try client.request("GET", base, headers: [account.bearer]).json["data"]?.arrayValue?.isEmpty == true)
    }

    @Test func lastUsedAtIsRecorded() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        let key = try client.createKey(account, mode: "full")
        let unused = try client.createKey(account, mode: "full")
        #expect(try client.accountKeys(account).allSatisfy { $0["last_used_at"]?.isNull == true })
        #expect(try client.me(key.secret).status == 200)
        let deadline = Date().addingTimeInterval(10)
        var lastUsed: JSONValue?
        while Date() < deadline {
            let keys = try client.accountKeys(account)
            lastUsed = keys.first { $0["id"]?.int64Value == key.id }?["last_used_at"]
            if lastUsed?.isNull == false { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(isTimestamp(lastUsed), "last_used_at: \(String(describing: lastUsed))")
        let other = try client.accountKeys(account).first { $0["id"]?.int64Value == unused.id }
        #expect(other?["last_used_at"]?.isNull == true)
    }
}
