import AtriumCrypto

/// Endpoint signing secrets in the Standard Webhooks form: `whsec_` + base64 of the key bytes.
/// The key is what receivers decode and feed to HMAC-SHA256.
public enum WebhookSecret {
    public static let prefix = "whsec_"
    /// 32 random bytes (the contract asks for at least 24).
    public static let keyLength = 32

    public static func generate() -> String {
        prefix + Base64.encode(SecureRandom.bytes(keyLength))
    }

    /// The HMAC key of a secret; nil when the text is not a well-formed secret.
    public static func key(of secret: String) -> [UInt8]? {
        guard secret.hasPrefix(prefix), let key = Base64.decode(String(secret.dropFirst(prefix.count))),
              !key.isEmpty else { return nil }
        return key
    }
}

/// The `webhook-signature` header of the Standard Webhooks scheme.
public enum WebhookSignature {
    /// `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` for each secret, space-separated
    /// (two during a rotation: the new secret's first). Secrets that do not decode are skipped.
    public static func header(messageID: String, timestamp: Int64, body: [UInt8], secrets: [String]) -> String {
        var signed = Array("\(messageID).\(timestamp).".utf8)
        signed.append(contentsOf: body)
        return secrets.compactMap { secret -> String? in
            guard let key = WebhookSecret.key(of: secret) else { return nil }
            return "v1," + Base64.encode(HMACSHA256.authenticationCode(key: key, message: signed))
        }.joined(separator: " ")
    }
}
