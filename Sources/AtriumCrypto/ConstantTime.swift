import COpenSSL

/// Comparison of secrets in time independent of where they differ (`CRYPTO_memcmp`), so that
/// an attacker cannot learn a signature or hash byte by byte from response timing.
public enum ConstantTime {
    /// `true` when both arrays hold the same bytes. A length mismatch returns `false` at once:
    /// the lengths compared here (digests, MACs) are public.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0
            }
        }
    }
}
