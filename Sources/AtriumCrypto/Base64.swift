/// Base64 (RFC 4648) in its two Atrium flavours, both strict.
///
/// Standard base64 with padding carries webhook secrets and password hashes; base64url
/// without padding carries JWT parts. Decoding is canonical — every byte string has exactly
/// one accepted encoding — because a lenient decoder lets an attacker mint many spellings of
/// one token (padding, `+`/`/`, stray low bits), which defeats replay and deny lists and
/// hides tampering from anyone comparing token text. This is an encoding, not a
/// cryptographic primitive, so it is written here rather than taken from libcrypto, whose
/// `EVP_DecodeBlock` is deliberately lenient.
public enum Base64 {
    private static let standardAlphabet: [UInt8] =
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlAlphabet: [UInt8] =
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let standardTable = decodeTable(standardAlphabet)
    private static let urlTable = decodeTable(urlAlphabet)

    /// Standard alphabet, `=` padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        String(decoding: encodeBytes(bytes, alphabet: standardAlphabet, pad: true), as: UTF8.self)
    }

    /// Strict standard base64: length a multiple of 4, only the standard alphabet, `=` only
    /// as one or two final characters, and zero unused bits. Anything else is `nil`.
    public static func decode(_ s: String) -> [UInt8]? {
        var units = Array(s.utf8)
        guard units.count % 4 == 0 else { return nil }
        var padding = 0
        while padding < 2, let last = units.last, last == UInt8(ascii: "=") {
            units.removeLast()
            padding += 1
        }
        // Three '=' (or a '=' anywhere else) fails the alphabet check below.
        return decodeUnpadded(units, table: standardTable)
    }

    /// base64url alphabet, no padding (as in JWTs).
    public static func urlEncode(_ bytes: [UInt8]) -> String {
        String(decoding: encodeBytes(bytes, alphabet: urlAlphabet, pad: false), as: UTF8.self)
    }

    /// Canonical base64url: rejects padding, `+`, `/`, any character outside the url alphabet,
    /// a length of 1 mod 4, and non-zero unused bits in the last character.
    public static func urlDecodeCanonical(_ s: String) -> [UInt8]? {
        var s = s
        return s.withUTF8 { urlDecodeCanonical(UnsafeRawBufferPointer($0)) }
    }

    /// Same as `urlDecodeCanonical(_: String)` on bytes (e.g. a slice of a token).
    public static func urlDecodeCanonical(_ units: UnsafeRawBufferPointer) -> [UInt8]? {
        decodeUnpadded(units, table: urlTable)
    }

    // MARK: Internals

    private static func decodeTable(_ alphabet: [UInt8]) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }

    private static func encodeBytes(_ bytes: [UInt8], alphabet: [UInt8], pad: Bool) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        switch bytes.count - i {
        case 1:
            let n = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            if pad { out.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")]) }
        case 2:
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            if pad { out.append(UInt8(ascii: "=")) }
        default:
            break
        }
        return out
    }

    /// Decodes characters without padding; enforces alphabet, length and zero stray bits.
    private static func decodeUnpadded<C: RandomAccessCollection>(_ units: C, table: [UInt8]) -> [UInt8]?
    where C.Element == UInt8, C.Index == Int {
        let count = units.count
        let remainder = count % 4
        guard remainder != 1 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(count / 4 * 3 + 2)
        var i = units.startIndex
        let fullEnd = units.startIndex + count - remainder
        while i < fullEnd {
            let a = table[Int(units[i])], b = table[Int(units[i + 1])]
            let c = table[Int(units[i + 2])], d = table[Int(units[i + 3])]
            guard (a | b | c | d) & 0xC0 == 0 else { return nil }
            let n = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            out.append(UInt8(truncatingIfNeeded: n >> 16))
            out.append(UInt8(truncatingIfNeeded: n >> 8))
            out.append(UInt8(truncatingIfNeeded: n))
            i += 4
        }
        switch remainder {
        case 2:
            let a = table[Int(units[i])], b = table[Int(units[i + 1])]
            guard (a | b) & 0xC0 == 0, b & 0x0F == 0 else { return nil }
            out.append(a << 2 | b >> 4)
        case 3:
            let a = table[Int(units[i])], b = table[Int(units[i + 1])], c = table[Int(units[i + 2])]
            guard (a | b | c) & 0xC0 == 0, c & 0x03 == 0 else { return nil }
            out.append(a << 2 | b >> 4)
            out.append((b & 0x0F) << 4 | c >> 2)
        default:
            break
        }
        return out
    }
}
