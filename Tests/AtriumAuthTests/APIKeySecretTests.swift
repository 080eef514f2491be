import AtriumCrypto
import Testing

@testable import AtriumAuth

@Suite struct APIKeySecretTests {
    @Test func generatedKeysAreWellFormedAndDistinct() {
        var seen = Set<String>()
        for _ in 0..<200 {
            let key = APIKeySecret.generate()
            #expect(key.hasPrefix("atr_"))
            #expect(key.utf8.count == 42)
            #expect(APIKeySecret.isWellFormed(key))
            seen.insert(key)
        }
        #expect(seen.count == 200)
    }

    @Test func crc32KnownValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test func checksumIsCRC32InBase62() {
        // 0xCBF43926 = 3421780262 = "3jZRME" in base62 (computed independently) (0-9, A-Z, a-z), zero-padded to 6.
        #expect(APIKeySecret.checksum(of: Array("123456789".utf8)) == "3jZRME")
        #expect(APIKeySecret.checksum(of: []) == "000000")
        let random = String(repeating: "a", count: 32)
        let key = "atr_" + random + APIKeySecret.checksum(of: Array(random.utf8))
        #expect(APIKeySecret.isWellFormed(key))
    }

    /// Every single-character substitution after the prefix must fail the check (CRC-32
    /// detects every single-byte error; a changed checksum digit changes its value).
    @Test func everySingleCharacterChangeFails() {
        let key = Array(APIKeySecret.generate().utf8)
        let alphabet = SecureRandom.base62Alphabet
        for position in 4..<key.count {
            for replacement in [alphabet[0], alphabet[61], alphabet[30]] where replacement != key[position] {
                var changed = key
                changed[position] = replacement
                #expect(!APIKeySecret.isWellFormed(String(decoding: changed, as: UTF8.self)), "position \(position)")
            }
        }
    }

    @Test func swappedAdjacentCharactersFail() {
        let key = Array(APIKeySecret.generate().utf8)
        for position in 4..<(4 + 31) where key[position] != key[position + 1] {
            var changed = key
            changed.swapAt(position, position + 1)
            #expect(!APIKeySecret.isWellFormed(String(decoding: changed, as: UTF8.self)))
        }
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let candidate: String
        var testDescription: String { name }
    }

    static let valid = "atr_" + String(repeating: "a", count: 32) + APIKeySecret.checksum(of: Array(String(repeating: "a", count: 32).utf8))

    @Test(arguments: [
        Malformed(name: "empty", candidate: ""),
        Malformed(name: "prefix only", candidate: "atr_"),
        Malformed(name: "wrong prefix", candidate: "atk_" + valid.dropFirst(4)),
        Malformed(name: "upper-case prefix", candidate: "ATR_" + valid.dropFirst(4)),
        Malformed(name: "no prefix", candidate: String(valid.dropFirst(4))),
        Malformed(name: "one character short", candidate: String(valid.dropLast())),
        Malformed(name: "one character long", candidate: valid + "0"),
        Malformed(name: "dash in random part", candidate: "atr_-" + valid.dropFirst(5)),
        Malformed(name: "underscore in checksum", candidate: valid.dropLast() + "_"),
        Malformed(name: "non-ASCII", candidate: "atr_é" + valid.dropFirst(6)),
        Malformed(name: "surrounding whitespace", candidate: " " + valid.dropFirst()),
        Malformed(name: "refresh token", candidate: RefreshTokenSecret.generate()),
    ])
    func rejectsMalformed(_ malformed: Malformed) {
        #expect(APIKeySecret.isWellFormed(Self.valid))
        #expect(!APIKeySecret.isWellFormed(malformed.candidate))
    }

    @Test func hashAndDisplayPrefix() {
        let key = APIKeySecret.generate()
        #expect(APIKeySecret.hash(key) == SHA256Digest.hash(Array(key.utf8)))
        #expect(APIKeySecret.hash(key).count == 32)
        #expect(APIKeySecret.displayPrefix(key) == String(key.prefix(12)))
        #expect(APIKeySecret.displayPrefix(key).count == 12)
        #expect(APIKeySecret.displayPrefix("short") == "short")
    }
}
