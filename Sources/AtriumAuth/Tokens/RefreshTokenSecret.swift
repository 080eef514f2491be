import AtriumCrypto

/// Opaque refresh tokens: `art_` + 43 base62 characters (about 256 bits of entropy).
///
/// Refresh tokens are random, not JWTs, so they can be revoked and rotated by the store alone;
/// the store keeps only their SHA-256, so a database leak does not hand out sessions.
public enum RefreshTokenSecret {
    public static let prefix = "art_"
    public static let randomLength = 43

    public static func generate() -> String {
        prefix + SecureRandom.base62(randomLength)
    }

    /// SHA-256 of the UTF-8 token: what the store keeps and looks up.
    public static func hash(_ token: String) -> [UInt8] {
        SHA256Digest.hash(token)
    }

    /// Prefix, length and alphabet check, to refuse garbage before a store lookup.
    public static func isWellFormed(_ candidate: String) -> Bool {
        let bytes = Array(candidate.utf8)
        guard bytes.count == 4 + randomLength, bytes.starts(with: prefix.utf8) else { return false }
        return bytes[4...].allSatisfy(APIKeySecret.isBase62)
    }
}
