import COpenSSL

/// Random bytes from libcrypto's CSPRNG (`RAND_bytes`) for secrets: API keys, refresh
/// tokens, salts, webhook secrets, request ids that must not be guessable.
public enum SecureRandom {
    /// `count` cryptographically secure random bytes. Traps only if the CSPRNG itself fails:
    /// continuing with predictable secrets would be worse than stopping.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var offset = 0
            while offset < count {
                let chunk = min(count - offset, 1 << 20)
                guard let base = buffer.baseAddress else { break }
                let ok = RAND_bytes(base + offset, Int32(chunk))
                guard ok == 1 else { fatalError("RAND_bytes failed: the CSPRNG is unavailable") }
                offset += chunk
            }
            initialized = count
        }
    }

    /// The 62 characters used by `base62`: digits, upper case, lower case.
    public static let base62Alphabet: [UInt8] =
        Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `count` uniformly random characters from `base62Alphabet`. Bytes of 248 or more are
    /// rejected (248 = 4 × 62) so that every character is equally likely.
    public static func base62(_ count: Int) -> String {
        precondition(count >= 0, "negative character count")
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            // Draw a little extra: about 3% of bytes are rejected.
            let needed = count - out.count
            for byte in bytes(needed + needed / 16 + 4) where byte < 248 {
                out.append(base62Alphabet[Int(byte % 62)])
                if out.count == count { break }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
