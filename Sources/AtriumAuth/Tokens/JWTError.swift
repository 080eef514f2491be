/// Why an access token was refused.
///
/// The API maps exactly two outcomes — `401 TOKEN_EXPIRED` when only `exp` is past and
/// `401 INVALID_TOKEN` for everything else — so the error carries one flag for that choice and
/// a reason for logs. The reason never contains token text.
public struct JWTError: Error, Sendable, Equatable {
    /// `true` only for an otherwise valid token whose `exp` is past (beyond leeway).
    public var isExpired: Bool
    /// For logs and tests only; never shown to clients.
    public var reason: String

    public static func invalid(_ reason: String) -> JWTError {
        JWTError(isExpired: false, reason: reason)
    }

    public static let expired = JWTError(isExpired: true, reason: "token expired")
}
