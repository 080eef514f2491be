import AtriumCrypto

/// Password storage with PBKDF2-HMAC-SHA-256 (OWASP 2023: at least 600,000 iterations),
/// a 16-byte random salt and a 32-byte output, encoded as
/// `$pbkdf2-sha256$i=<iterations>$<base64 salt>$<base64 hash>` (standard base64, padded).
///
/// The iteration count travels with each hash, so raising it later only affects new hashes
/// and old ones still verify. `verifyDummy` exists so that a login for an unknown email costs
/// the same time as a wrong password and does not reveal which emails have accounts.
/// Passwords are hashed as their UTF-8 bytes, without Unicode normalisation.
public struct PasswordHasher: Sendable {
    public static let defaultIterations = 600_000
    public static let saltLength = 16
    public static let hashLength = 32
    /// Upper bound accepted from an encoded hash, so a corrupted row cannot pin a CPU.
    public static let maximumIterations = 10_000_000

    public let iterations: Int

    /// - Precondition: `1...maximumIterations`.
    public init(iterations: Int = PasswordHasher.defaultIterations) {
        precondition(iterations >= 1 && iterations <= PasswordHasher.maximumIterations, "iterations out of range")
        self.iterations = iterations
    }

    public func hash(_ password: String) -> String {
        let salt = SecureRandom.bytes(PasswordHasher.saltLength)
        let derived = PBKDF2.sha256(
            password: Array(password.utf8), salt: salt, iterations: iterations, keyLength: PasswordHasher.hashLength
        )
        return "$pbkdf2-sha256$i=\(iterations)$\(Base64.encode(salt))$\(Base64.encode(derived))"
    }

    /// `true` when `password` matches; parameters come from `encoded`. A malformed encoding
    /// returns `false` (never traps). The comparison is constant-time.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard let parsed = PasswordHasher.parse(encoded) else { return false }
        let derived = PBKDF2.sha256(
            password: Array(password.utf8), salt: parsed.salt, iterations: parsed.iterations,
            keyLength: parsed.hash.count
        )
        return ConstantTime.equals(derived, parsed.hash)
    }

    /// Does the work of a `verify` against a hash made with this hasher's parameters and
    /// discards the answer.
    public func verifyDummy(_ password: String) {
        let derived = PBKDF2.sha256(
            password: Array(password.utf8), salt: PasswordHasher.dummySalt, iterations: iterations,
            keyLength: PasswordHasher.hashLength
        )
        _ = ConstantTime.equals(derived, PasswordHasher.dummyHash)
    }

    private static let dummySalt = [UInt8](repeating: 0x5A, count: saltLength)
    private static let dummyHash = [UInt8](repeating: 0, count: hashLength)

    struct Parsed {
        var iterations: Int
        var salt: [UInt8]
        var hash: [UInt8]
    }

    /// Parses `$pbkdf2-sha256$i=N$salt$hash`. N is decimal without sign or leading zero and
    /// at most `maximumIterations`; salt is 8–64 bytes; hash is 16–64 bytes.
    static func parse(_ encoded: String) -> Parsed? {
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1] == "pbkdf2-sha256" else { return nil }
        let parameter = fields[2]
        guard parameter.hasPrefix("i=") else { return nil }
        let digits = parameter.dropFirst(2).utf8
        guard let first = digits.first, first != UInt8(ascii: "0"), digits.count <= 9 else { return nil }
        var iterations = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            iterations = iterations * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard iterations <= maximumIterations else { return nil }
        guard let salt = Base64.decode(String(fields[3])), (8...64).contains(salt.count) else { return nil }
        guard let hash = Base64.decode(String(fields[4])), (16...64).contains(hash.count) else { return nil }
        return Parsed(iterations: iterations, salt: salt, hash: hash)
    }
}
