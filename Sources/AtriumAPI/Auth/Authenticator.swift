import AtriumAuth
import AtriumCrypto
import AtriumHTTP
import AtriumStore

/// Turns the credential headers of a request into a `Principal` (api.md §2): a JWT access
/// token of a live session, or a live API key. Reads only; no KDF, no write.
public struct Authenticator: Sendable {
    let codec: JWTCodec
    let keyUsage: KeyUsageRecorder

    /// The raw credential of a request, before it is checked.
    enum PresentedCredential {
        case none
        case bearer(String)
        case apiKey(String)
    }

    /// `Authorization: Bearer` and `X-API-Key`; both at once, or either twice → 400.
    static func presented(_ request: HTTPRequest) throws(APIError) -> PresentedCredential {
        let authorizations = request.headers.values("authorization")
        let apiKeys = request.headers.values("x-api-key")
        if authorizations.count + apiKeys.count > 1 {
            throw APIError.badRequest("Send one credential: Authorization or X-API-Key, once.")
        }
        if let header = authorizations.first {
            let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.invalidToken }
            let token = parts[1].trimmingSpaces
            guard !token.isEmpty else { throw APIError.invalidToken }
            return .bearer(token)
        }
        if let key = apiKeys.first {
            guard !key.isEmpty else { throw APIError.invalidToken }
            return .apiKey(key)
        }
        return .none
    }

    /// The caller (and, for a key, its stored row), or the contract's 401.
    func authenticate(_ request: HTTPRequest, reader: StoreReader, now: Int64) throws -> (Principal, APIKeyRow?) {
        switch try Self.presented(request) {
        case .none:
            throw APIError.unauthenticated
        case .apiKey(let secret):
            return try authenticateKey(secret, reader: reader, now: now)
        case .bearer(let token):
            if token.hasPrefix("atr_") { return try authenticateKey(token, reader: reader, now: now) }
            return (try authenticateJWT(token, reader: reader, now: now), nil)
        }
    }

    private func authenticateKey(_ secret: String, reader: StoreReader, now: Int64) throws -> (Principal, APIKeyRow) {
        guard APIKeySecret.isWellFormed(secret),
              let row = try reader.apiKey(secretHash: APIKeySecret.hash(secret)) else {
            throw APIError.invalidToken
        }
        if let expires = row.expiresAt, expires <= now { throw APIError.invalidToken }
        let mode = row.mode
        let permissions = row.permissions.flatMap { PermissionSet(names: $0) }
        keyUsage.record(keyID: row.id, at: now)
        let grant = APIKeyGrant(keyID: row.id, mode: mode, workspaceID: row.workspaceID, allowList: row.workspaceIDs,
                                permissions: permissions)
        return (Principal(userID: row.userID, credential: .apiKey(grant)), row)
    }

    private func authenticateJWT(_ token: String, reader: StoreReader, now: Int64) throws -> Principal {
        let claims: AccessTokenClaims
        do {
            claims = try codec.verify(token, now: now / 1000)
        } catch {
            throw error.isExpired ? APIError.tokenExpired : APIError.invalidToken
        }
        guard let userID = Int64(claims.subject), let sessionID = Int64(claims.sessionID),
              let session = try reader.session(id: sessionID), session.userID == userID, session.revokedAt == nil
        else { throw APIError.invalidToken }
        return Principal(userID: userID, credential: .session(sessionID: sessionID))
    }
}
