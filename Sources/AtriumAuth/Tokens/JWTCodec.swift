import AtriumCrypto
import AtriumJSON

/// Signs and verifies Atrium's HS256 access tokens.
///
/// JWT libraries are where token forgeries come from (`alg: none`, algorithm confusion,
/// fetched keys, lenient decoding), so Atrium accepts exactly one shape of token and checks
/// every part of it: canonical base64url, strict JSON without duplicate keys, `alg` exactly
/// `HS256`, no `crit`, a `kid` known in memory, a constant-time signature check, and typed
/// claims. Only after all that does it look at time, so `TOKEN_EXPIRED` is never reported for
/// a token that is also invalid for another reason.
///
/// Time rules (RFC 7519 with a leeway `L`): valid while `now < exp + L`; refused when
/// `nbf > now + L` or `iat > now + L`. All sums are overflow-checked, so absurd values such
/// as `exp = Int64.max` never trap.
public struct JWTCodec: Sendable {
    public let keys: JWTKeySet
    public let issuer: String
    public let audience: String
    public let leewaySeconds: Int64
    public let maxTokenBytes: Int
    /// `base64url({"alg":"HS256","typ":"JWT","kid":"…"})` of the current key, built once.
    private let encodedHeader: [UInt8]

    public init(
        keys: JWTKeySet, issuer: String, audience: String, leewaySeconds: Int64 = 60, maxTokenBytes: Int = 8192
    ) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leewaySeconds = max(leewaySeconds, 0)
        self.maxTokenBytes = max(maxTokenBytes, 0)
        var header = JSONWriter(capacity: 64)
        header.beginObject()
        header.key("alg")
        header.string("HS256")
        header.key("typ")
        header.string("JWT")
        header.key("kid")
        header.string(keys.currentKeyID)
        header.endObject()
        self.encodedHeader = Array(Base64.urlEncode(header.bytes).utf8)
    }

    /// A signed compact JWT for `claims`, with the current key. The payload holds
    /// `iss, aud, sub, sid, iat, exp, (nbf), token_use` in that order.
    public func sign(_ claims: AccessTokenClaims) -> String {
        var payload = JSONWriter(capacity: 192)
        payload.beginObject()
        payload.key("iss")
        payload.string(claims.issuer)
        payload.key("aud")
        payload.string(claims.audience)
        payload.key("sub")
        payload.string(claims.subject)
        payload.key("sid")
        payload.string(claims.sessionID)
        payload.key("iat")
        payload.int(claims.issuedAt)
        payload.key("exp")
        payload.int(claims.expiresAt)
        if let notBefore = claims.notBefore {
            payload.key("nbf")
            payload.int(notBefore)
        }
        payload.key("token_use")
        payload.string(claims.tokenUse)
        payload.endObject()

        var token = encodedHeader
        token.reserveCapacity(encodedHeader.count + payload.bytes.count * 4 / 3 + 48)
        token.append(UInt8(ascii: "."))
        token.append(contentsOf: Base64.urlEncode(payload.bytes).utf8)
        let signature = HMACSHA256.authenticationCode(key: keys.current.secret, message: token)
        token.append(UInt8(ascii: "."))
        token.append(contentsOf: Base64.urlEncode(signature).utf8)
        return String(decoding: token, as: UTF8.self)
    }

    /// Verifies `token` at time `now` (seconds since the epoch) and returns its claims.
    /// Throws `JWTError.expired` only when the token is valid in every other respect.
    public func verify(_ token: String, now: Int64) throws(JWTError) -> AccessTokenClaims {
        guard token.utf8.count <= maxTokenBytes else { throw .invalid("token too large") }
        var token = token
        let result = token.withUTF8 { utf8 in
            Result { () throws(JWTError) -> AccessTokenClaims in
                try verify(bytes: UnsafeRawBufferPointer(utf8), now: now)
            }
        }
        return try result.get()
    }

    private func verify(bytes: UnsafeRawBufferPointer, now: Int64) throws(JWTError) -> AccessTokenClaims {
        // Three parts, exactly two dots.
        var firstDot = -1
        var secondDot = -1
        for offset in 0..<bytes.count where bytes[offset] == UInt8(ascii: ".") {
            if firstDot < 0 {
                firstDot = offset
            } else if secondDot < 0 {
                secondDot = offset
            } else {
                throw .invalid("token must have three parts")
            }
        }
        guard secondDot >= 0 else { throw .invalid("token must have three parts") }
        let headerPart = UnsafeRawBufferPointer(rebasing: bytes[0..<firstDot])
        let payloadPart = UnsafeRawBufferPointer(rebasing: bytes[(firstDot + 1)..<secondDot])
        let signaturePart = UnsafeRawBufferPointer(rebasing: bytes[(secondDot + 1)...])

        // Header.
        let header = try decodeObject(headerPart, name: "header")
        guard let alg = header["alg"] else { throw .invalid("alg missing") }
        guard let algName = alg.stringValue else { throw .invalid("alg is not a string") }
        guard algName == "HS256" else { throw .invalid("alg not allowed") }
        guard header["crit"] == nil else { throw .invalid("crit header not supported") }
        // jku, x5u, jwk and x5c are deliberately ignored: keys come from memory only.
        let secret: [UInt8]
        if let kid = header["kid"] {
            guard let kidName = kid.stringValue else { throw .invalid("kid is not a string") }
            guard let known = keys.secret(forKeyID: kidName) else { throw .invalid("unknown kid") }
            secret = known
        } else {
            secret = keys.current.secret
        }

        // Signature over "header.payload", compared in constant time.
        guard let signature = Base64.urlDecodeCanonical(signaturePart) else {
            throw .invalid("signature is not canonical base64url")
        }
        guard !signature.isEmpty else { throw .invalid("empty signature") }
        let expected = secret.withUnsafeBytes { key in
            HMACSHA256.authenticationCode(key: key, message: UnsafeRawBufferPointer(rebasing: bytes[0..<secondDot]))
        }
        guard ConstantTime.equals(expected, signature) else { throw .invalid("signature mismatch") }

        // Payload and claims.
        let payload = try decodeObject(payloadPart, name: "payload")
        let claims = try readClaims(payload)
        try checkTime(claims, now: now)
        return claims
    }

    private func decodeObject(_ part: UnsafeRawBufferPointer, name: String) throws(JWTError) -> JSONObject {
        guard let json = Base64.urlDecodeCanonical(part) else {
            throw .invalid("\(name) is not canonical base64url")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(json, maxDepth: 8, rejectDuplicateKeys: true)
        } catch {
            throw .invalid("\(name) is not valid JSON (\(error.message))")
        }
        guard let object = value.objectValue else { throw .invalid("\(name) is not a JSON object") }
        return object
    }

    private func readClaims(_ payload: JSONObject) throws(JWTError) -> AccessTokenClaims {
        let iss = try stringClaim(payload, "iss")
        guard iss == issuer else { throw .invalid("wrong issuer") }
        switch payload["aud"] {
        case .string(let aud)?:
            guard aud == audience else { throw .invalid("wrong audience") }
        case .array(let list)?:
            var found = false
            for element in list {
                guard let aud = element.stringValue else { throw .invalid("aud is not a string or array of strings") }
                if aud == audience { found = true }
            }
            guard found else { throw .invalid("wrong audience") }
        case nil:
            throw .invalid("aud missing")
        default:
            throw .invalid("aud is not a string or array of strings")
        }
        let sub = try stringClaim(payload, "sub")
        guard JWTCodec.isPositiveDecimal(sub) else { throw .invalid("sub is not a positive integer") }
        let sid = try stringClaim(payload, "sid")
        guard !sid.isEmpty else { throw .invalid("sid is empty") }
        guard let exp = try integerClaim(payload, "exp") else { throw .invalid("exp missing") }
        guard let iat = try integerClaim(payload, "iat") else { throw .invalid("iat missing") }
        let nbf = try integerClaim(payload, "nbf")
        let use = try stringClaim(payload, "token_use")
        guard use == "access" else { throw .invalid("token_use is not access") }
        return AccessTokenClaims(
            issuer: iss, audience: audience, subject: sub, sessionID: sid,
            issuedAt: iat, expiresAt: exp, notBefore: nbf, tokenUse: use
        )
    }

    private func checkTime(_ claims: AccessTokenClaims, now: Int64) throws(JWTError) {
        let (sum, overflow) = now.addingReportingOverflow(leewaySeconds)
        let latestAcceptable = overflow ? Int64.max : sum
        if let nbf = claims.notBefore, nbf > latestAcceptable { throw .invalid("token not yet valid (nbf)") }
        guard claims.issuedAt <= latestAcceptable else { throw .invalid("iat in the future") }
        let (deadline, pastMax) = claims.expiresAt.addingReportingOverflow(leewaySeconds)
        if !pastMax && now >= deadline { throw .expired }
    }

    private func stringClaim(_ payload: JSONObject, _ name: String) throws(JWTError) -> String {
        guard let value = payload[name] else { throw .invalid("\(name) missing") }
        guard let string = value.stringValue else { throw .invalid("\(name) is not a string") }
        return string
    }

    /// `nil` when absent; throws when present but not an exact Int64 integer.
    private func integerClaim(_ payload: JSONObject, _ name: String) throws(JWTError) -> Int64? {
        guard let value = payload[name] else { return nil }
        guard let integer = value.int64Value else { throw .invalid("\(name) is not an integer") }
        return integer
    }

    /// ASCII digits, no sign, no leading zero, non-zero, fits Int64.
    static func isPositiveDecimal(_ s: String) -> Bool {
        let utf8 = s.utf8
        guard let first = utf8.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else { return false }
        var value: Int64 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return false }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            if o1 || o2 { return false }
            value = next
        }
        return true
    }
}
