import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// Sign-up, login, refresh and logout (api.md §4).
enum AuthEndpoints {
    static func all() -> [Endpoint] {
        [
            Endpoint(.post, "/v1/auth/signup", .open(.passwordHashing, signup), documentation: Docs.signup),
            Endpoint(.post, "/v1/auth/login", .open(.passwordHashing, login), documentation: Docs.login),
            Endpoint(.post, "/v1/auth/refresh", .open(.store, refresh), documentation: Docs.refresh),
            Endpoint(.post, "/v1/auth/logout", .account(.session, .respond(logout)), documentation: Docs.logout),
        ]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let body: [ErrorCode] = [.validationFailed, .invalidJSON]
        static let signup = EndpointDocumentation(
            "signup", "Create an account and its main workspace", success: 201,
            errors: body + [.emailTaken, .signupDisabled], request: .ref("Signup"), response: .ref("SignupResult"))
        static let login = EndpointDocumentation(
            "login", "Exchange email and password for tokens", errors: body + [.invalidCredentials, .rateLimited],
            request: .ref("Login"), response: .ref("LoginResult"))
        static let refresh = EndpointDocumentation(
            "refresh", "Exchange a refresh token for a new token pair", errors: body + [.invalidToken],
            request: .ref("RefreshRequest"), response: .ref("Tokens"))
        static let logout = EndpointDocumentation("logout", "Revoke the current session", success: 204)
    }

    /// Trimmed, lower-cased, and shaped like an address (one `@`, a dot in the domain).
    static func normalizedEmail(_ raw: String) -> String? {
        let email = raw.trimmingSpaces.lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !email.contains(where: { $0 == " " || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true })
        else { return nil }
        return email
    }

    static func signup(_ request: OpenRequest) throws -> HTTPResponse {
        let services = request.services
        guard services.configuration.allowSignup else { throw APIError.signupDisabled }
        var body = try request.body()
        let rawEmail = body.string("email", required: true, maxLength: 320)
        let password = body.string("password", required: true, minLength: 8, maxLength: 256)
        let name = body.string("name", required: true, minLength: 1, maxLength: 100, trim: true)
        let email = rawEmail.flatMap(normalizedEmail)
        if rawEmail != nil && email == nil { body.addProblem("email", "must be an email address") }
        try body.validate()
        guard let email, let password, let name else { throw APIError.invalidJSON }
        if try services.store.read({ try $0.user(email: email) }) != nil {
            throw APIError(.emailTaken, "An account with this email exists.")
        }
        let hash = services.passwordHasher.hash(password)
        let now = request.now
        let refresh = RefreshTokenSecret.generate()
        let refreshHash = RefreshTokenSecret.hash(refresh)
        let refreshExpiry = now + services.configuration.refreshTokenTTLSeconds * 1000
        let created: (UserRow, WorkspaceRow, Int64)
        do {
            created = try services.store.write { writer in
                let user = try writer.createUser(email: email, name: name, passwordHash: hash, now: now)
                let workspace = try writer.createWorkspace(ownerID: user.id, name: "Main", color: nil,
                                                           metadata: "{}", now: now)
                try writer.setMainWorkspace(userID: user.id, workspaceID: workspace.id, now: now)
                let session = try writer.createSession(userID: user.id, refreshHash: refreshHash,
                                                       refreshExpiresAt: refreshExpiry, now: now)
                guard let reloaded = try writer.reader.user(id: user.id) else { throw StoreError.notFound }
                return (reloaded, workspace, session)
            }
        } catch StoreError.conflict {
            throw APIError(.emailTaken, "An account with this email exists.")
        }
        let (user, workspace, sessionID) = created
        let access = issueAccessToken(services: services, userID: user.id, sessionID: sessionID, now: now)
        return Respond.created(location: "/v1/me") { writer in
            writer.beginObject()
            writer.key("user")
            Presenters.user(user, into: &writer)
            writer.key("workspace")
            Presenters.workspace(workspace, mainWorkspaceID: user.mainWorkspaceID, into: &writer)
            tokenFields(access: access, refresh: refresh, services: services, into: &writer)
            writer.endObject()
        }
    }

    static func login(_ request: OpenRequest) throws -> HTTPResponse {
        let services = request.services
        let configuration = services.configuration
        var body = try request.body()
        let rawEmail = body.string("email", required: true, maxLength: 320)
        let password = body.string("password", required: true, maxLength: 256)
        try body.validate()
        guard let rawEmail, let password else { throw APIError.invalidJSON }
        let email = rawEmail.trimmingSpaces.lowercased()
        let now = request.now
        let window = configuration.loginWindowSeconds * 1000
        let accountBucket = "login:account:" + email
        let addressBucket = "login:address:" + request.clientAddress
        let (accountFailures, addressFailures, user) = try services.store.read { reader in
            (try reader.rateLimitCount(bucket: accountBucket, windowMilliseconds: window, now: now),
             try reader.rateLimitCount(bucket: addressBucket, windowMilliseconds: window, now: now),
             try reader.user(email: email))
        }
        let lockedOut = accountFailures >= configuration.loginFailuresPerAccount
            || addressFailures >= configuration.loginFailuresPerAddress
        if lockedOut {
            let retryAfter = (window - now % window + 999) / 1000
            throw APIError.rateLimited(retryAfterSeconds: Int(retryAfter))
        }
        let verified: Bool
        if let user {
            verified = services.passwordHasher.verify(password, against: user.passwordHash)
        } else {
            services.passwordHasher.verifyDummy(password)
            verified = false
        }
        guard let user, verified else {
            try services.store.write { writer in
                try writer.hitRateLimit(bucket: accountBucket, windowMilliseconds: window, now: now)
                try writer.hitRateLimit(bucket: addressBucket, windowMilliseconds: window, now: now)
            }
            throw APIError.invalidCredentials
        }
        let refresh = RefreshTokenSecret.generate()
        let refreshHash = RefreshTokenSecret.hash(refresh)
        let refreshExpiry = now + configuration.refreshTokenTTLSeconds * 1000
        let sessionID = try services.store.write { writer in
            try writer.createSession(userID: user.id, refreshHash: refreshHash,
                                     refreshExpiresAt: refreshExpiry, now: now)
        }
        let access = issueAccessToken(services: services, userID: user.id, sessionID: sessionID, now: now)
        return Respond.json { writer in
            writer.beginObject()
            writer.key("user")
            Presenters.user(user, into: &writer)
            tokenFields(access: access, refresh: refresh, services: services, into: &writer)
            writer.endObject()
        }
    }

    static func refresh(_ request: OpenRequest) throws -> HTTPResponse {
        let services = request.services
        var body = try request.body()
        let presented = body.string("refresh_token", required: true, minLength: 1, maxLength: 512)
        try body.validate()
        guard let presented else { throw APIError.invalidJSON }
        let now = request.now
        let newToken = RefreshTokenSecret.generate()
        let newHash = RefreshTokenSecret.hash(newToken)
        let presentedHash = RefreshTokenSecret.hash(presented)
        let expiry = now + services.configuration.refreshTokenTTLSeconds * 1000
        let outcome = try services.store.write { writer in
            try writer.exchangeRefreshToken(presentedHash: presentedHash, newHash: newHash,
                                            newExpiresAt: expiry, now: now)
        }
        guard case .rotated(let sessionID, let userID) = outcome else { throw APIError.invalidToken }
        let access = issueAccessToken(services: services, userID: userID, sessionID: sessionID, now: now)
        return Respond.json { writer in
            writer.beginObject()
            tokenFields(access: access, refresh: newToken, services: services, into: &writer)
            writer.endObject()
        }
    }

    static func logout(_ request: AccountRequest) throws -> HTTPResponse {
        guard case .session(let sessionID) = request.principal.credential else { throw APIError.sessionRequired }
        let now = request.now
        try request.services.store.write { writer in try writer.revokeSession(id: sessionID, now: now) }
        return Respond.noContent()
    }

    static func issueAccessToken(services: Services, userID: Int64, sessionID: Int64, now: Int64) -> String {
        let issuedAt = now / 1000
        let claims = AccessTokenClaims(
            issuer: services.configuration.issuer, audience: services.configuration.audience,
            subject: String(userID), sessionID: String(sessionID), issuedAt: issuedAt,
            expiresAt: issuedAt + services.configuration.accessTokenTTLSeconds, notBefore: nil, tokenUse: "access")
        return services.codec.sign(claims)
    }

    static func tokenFields(access: String, refresh: String, services: Services, into writer: inout JSONWriter) {
        writer.field("access_token", access)
        writer.field("refresh_token", refresh)
        writer.field("token_type", "Bearer")
        writer.field("expires_in", services.configuration.accessTokenTTLSeconds)
    }
}
