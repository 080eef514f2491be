import COpenSSL

/// HMAC-SHA-256 from libcrypto.
///
/// Signs and verifies HS256 access tokens and Standard Webhooks signatures. Callers compare
/// codes with `ConstantTime.equals`, never `==`, so that timing reveals nothing.
public enum HMACSHA256 {
    public static let byteCount = 32

    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                authenticationCode(key: keyBytes, message: messageBytes)
            }
        }
    }

    /// Same as above on borrowed memory (e.g. the signing input of a token without copying).
    public static func authenticationCode(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> [UInt8] {
        guard key.count <= Int(Int32.max) else {
            preconditionFailure("HMAC key longer than Int32.max")
        }
        return [UInt8](unsafeUninitializedCapacity: byteCount) { output, initialized in
            var length: UInt32 = 0
            let result = withNonNullBase(key) { keyBase, keyCount in
                withNonNullBase(message) { messageBase, messageCount in
                    HMAC(EVP_sha256(), keyBase, Int32(keyCount), messageBase, messageCount, output.baseAddress, &length)
                }
            }
            // HMAC only fails on allocation failure or a broken libcrypto; there is no
            // meaningful way to continue without an authenticator.
            precondition(result != nil && length == UInt32(byteCount), "libcrypto HMAC failed")
            initialized = byteCount
        }
    }
}
