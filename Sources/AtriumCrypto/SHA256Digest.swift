import COpenSSL

/// SHA-256 from libcrypto.
///
/// Atrium stores only hashes of API keys and refresh tokens and derives JWT key ids from a
/// hash, so hashing sits on the authentication hot path. libcrypto is audited, which a
/// hand-written hash would not be; going through `EVP_Digest` with an algorithm fetched once
/// (rather than the `SHA256()` convenience, which looks the algorithm up on every call in
/// OpenSSL 3) makes hashing an API key cost about 0.3 µs instead of about 0.8 µs.
public enum SHA256Digest {
    /// Output length in bytes.
    public static let byteCount = 32

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { output, initialized in
            let ok = withNonNullBase(bytes) { base, count in
                EVP_Digest(base, count, output.baseAddress, nil, sha256Algorithm.md, nil)
            }
            // Fails only on allocation failure or a broken libcrypto.
            precondition(ok == 1, "libcrypto SHA-256 failed")
            initialized = byteCount
        }
    }

    public static func hash(_ s: String) -> [UInt8] {
        var s = s
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// Lowercase hexadecimal form of any byte array (not only digests).
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// libcrypto's SHA-256, fetched once per process.
///
/// `@unchecked Sendable`: a fetched `EVP_MD` is an immutable, reference-counted algorithm
/// descriptor that OpenSSL documents as safe to use from many threads at once (crypto(7),
/// "Fetching algorithms"); it is never mutated or freed here.
struct FetchedDigest: @unchecked Sendable {
    let md: OpaquePointer
}

let sha256Algorithm: FetchedDigest = {
    // EVP_sha256() is the always-available fallback if explicit fetching were to fail.
    guard let md = EVP_MD_fetch(nil, "SHA256", nil) ?? EVP_sha256() else {
        fatalError("libcrypto provides no SHA-256")
    }
    return FetchedDigest(md: md)
}()

/// Gives C functions a non-null pointer even for empty input: some libcrypto entry points
/// treat a NULL pointer specially (HMAC reuses the previous key), so never pass one.
@inline(__always)
func withNonNullBase<R>(
    _ bytes: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>, Int) -> R
) -> R {
    if let base = bytes.baseAddress, bytes.count > 0 {
        return body(base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }
    var zero: UInt8 = 0
    return withUnsafePointer(to: &zero) { body($0, 0) }
}
