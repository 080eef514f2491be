import AtriumCrypto

/// The HS256 secrets the server holds: the current one signs, current and previous verify.
///
/// Two keys make rotation possible without logging everyone out: deploy a new current key and
/// keep the old one as previous for one access-token lifetime, then drop it. Each key is known
/// by a key id (`kid`), the first 16 hex characters of SHA-256(secret), which is stable across
/// restarts and says nothing useful about the secret itself.
public struct JWTKeySet: Sendable {
    struct Key: Sendable {
        let id: String
        let secret: [UInt8]
    }

    let current: Key
    let previous: Key?

    /// - Precondition: `current` (and `previous`, when given) is not empty. HS256 keys should
    ///   be at least 32 random bytes; this is configuration, checked at startup.
    public init(current: [UInt8], previous: [UInt8]? = nil) {
        precondition(!current.isEmpty, "JWT signing key must not be empty")
        self.current = Key(id: JWTKeySet.keyID(for: current), secret: current)
        if let previous {
            precondition(!previous.isEmpty, "previous JWT key must not be empty")
            self.previous = Key(id: JWTKeySet.keyID(for: previous), secret: previous)
        } else {
            self.previous = nil
        }
    }

    public var currentKeyID: String { current.id }

    /// The previous key's id, if one is configured.
    public var previousKeyID: String? { previous?.id }

    /// The secret for `kid`, looked up in memory only (never fetched from anywhere).
    func secret(forKeyID kid: String) -> [UInt8]? {
        if kid == current.id { return current.secret }
        if let previous, kid == previous.id { return previous.secret }
        return nil
    }

    static func keyID(for secret: [UInt8]) -> String {
        String(SHA256Digest.hex(SHA256Digest.hash(secret)).prefix(16))
    }
}
