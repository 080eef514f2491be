import AtriumCrypto

/// API key secrets: `atr_` + 32 random base62 characters + a 6-character base62 checksum.
///
/// The prefix and checksum let secret scanners (and our own auth path) recognise a real key
/// without a database lookup: a mistyped or truncated key is refused before any store access.
/// The 32 random characters carry about 190 bits of entropy from `SecureRandom`.
///
/// Checksum choice: CRC-32 (IEEE 802.3, as zlib and GitHub's token format use) of the 32
/// random ASCII characters, written as 6 base62 digits, most significant first, zero-padded
/// (62⁶ > 2³²). A checksum detects typos; it is not a security control, so a Swift CRC
/// table is fine here. Security comes from the random part and the stored SHA-256.
public enum APIKeySecret {
    public static let prefix = "atr_"
    public static let randomLength = 32
    public static let checksumLength = 6
    /// 42 characters in total.
    public static let totalLength = 4 + randomLength + checksumLength

    public static func generate() -> String {
        let random = SecureRandom.base62(randomLength)
        return prefix + random + checksum(of: Array(random.utf8))
    }

    /// Checks prefix, length, alphabet and checksum. Does not consult any store.
    public static func isWellFormed(_ candidate: String) -> Bool {
        let bytes = Array(candidate.utf8)
        guard bytes.count == totalLength, bytes.starts(with: prefix.utf8) else { return false }
        let random = bytes[4..<(4 + randomLength)]
        let check = bytes[(4 + randomLength)...]
        guard random.allSatisfy(isBase62), check.allSatisfy(isBase62) else { return false }
        return checksum(of: Array(random)).utf8.elementsEqual(check)
    }

    /// SHA-256 of the UTF-8 secret: the only form the store keeps.
    public static func hash(_ secret: String) -> [UInt8] {
        SHA256Digest.hash(secret)
    }

    /// The first 12 characters (`atr_` + 8), safe to show in lists so users can tell keys apart.
    public static func displayPrefix(_ secret: String) -> String {
        String(secret.prefix(12))
    }

    static func isBase62(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "a")...UInt8(ascii: "z"):
            return true
        default:
            return false
        }
    }

    /// CRC-32 of `bytes` as 6 base62 digits.
    static func checksum(of bytes: [UInt8]) -> String {
        var value = UInt64(CRC32.checksum(bytes))
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: checksumLength)
        var i = checksumLength
        while value > 0 && i > 0 {
            i -= 1
            digits[i] = SecureRandom.base62Alphabet[Int(value % 62)]
            value /= 62
        }
        return String(decoding: digits, as: UTF8.self)
    }
}

/// CRC-32 (IEEE, reflected polynomial 0xEDB88320), used only as a typo-detecting checksum.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Sequence>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
