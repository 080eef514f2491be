/// The claims of an Atrium access token, already checked for type and validity by
/// `JWTCodec.verify`, so that the rest of the server never sees raw JWT JSON.
public struct AccessTokenClaims: Sendable, Equatable {
    public var issuer: String
    public var audience: String
    /// The user id as a positive decimal string (JWT `sub`).
    public var subject: String
    /// The session this token belongs to (`sid`); logout revokes it.
    public var sessionID: String
    public var issuedAt: Int64
    public var expiresAt: Int64
    public var notBefore: Int64?
    /// Always `"access"` for access tokens; tells them apart from any other token kind.
    public var tokenUse: String

    public init(
        issuer: String, audience: String, subject: String, sessionID: String,
        issuedAt: Int64, expiresAt: Int64, notBefore: Int64? = nil, tokenUse: String = "access"
    ) {
        self.issuer = issuer
        self.audience = audience
        self.subject = subject
        self.sessionID = sessionID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.tokenUse = tokenUse
    }

    /// `subject` as the numeric user id (verify guarantees it parses for verified tokens).
    public var userID: Int64? { Int64(subject) }
}
