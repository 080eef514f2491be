import COpenSSL

/// PBKDF2-HMAC-SHA-256 (`PKCS5_PBKDF2_HMAC`) for password storage: an iterated KDF as the
/// contract allows, from libcrypto rather than hand-written.
public enum PBKDF2 {
    /// Derives `keyLength` bytes. `iterations` and `keyLength` must be in `1...Int32.max`
    /// (a programming error otherwise: callers validate parameters read from storage).
    public static func sha256(password: [UInt8], salt: [UInt8], iterations: Int, keyLength: Int) -> [UInt8] {
        precondition(iterations >= 1 && iterations <= Int(Int32.max), "PBKDF2 iterations out of range")
        precondition(keyLength >= 1 && keyLength <= Int(Int32.max), "PBKDF2 key length out of range")
        precondition(password.count <= Int(Int32.max) && salt.count <= Int(Int32.max), "PBKDF2 input too long")
        return [UInt8](unsafeUninitializedCapacity: keyLength) { output, initialized in
            let ok = password.withUnsafeBytes { passwordBytes in
                salt.withUnsafeBytes { saltBytes in
                    withNonNullBase(passwordBytes) { passwordBase, passwordCount in
                        withNonNullBase(saltBytes) { saltBase, saltCount in
                            passwordBase.withMemoryRebound(
                                to: CChar.self, capacity: max(passwordCount, 1)
                            ) { passwordChars in
                                PKCS5_PBKDF2_HMAC(
                                    passwordChars, Int32(passwordCount), saltBase, Int32(saltCount),
                                    Int32(iterations), EVP_sha256(), Int32(keyLength), output.baseAddress
                                )
                            }
                        }
                    }
                }
            }
            precondition(ok == 1, "libcrypto PBKDF2 failed")
            initialized = keyLength
        }
    }
}
