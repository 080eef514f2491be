import AtriumCrypto
import AtriumJSON
import Testing

@testable import AtriumAuth

private typealias F = JWTFixture

@Suite struct JWTCodecTests {
    static let claims = AccessTokenClaims(
        issuer: F.issuer, audience: F.audience, subject: "42", sessionID: "sess-1",
        issuedAt: F.now, expiresAt: F.now + 900, notBefore: nil, tokenUse: "access"
    )

    @Test func signThenVerifyRoundTrips() throws {
        let codec = F.codec()
        let token = codec.sign(Self.claims)
        #expect(try codec.verify(token, now: F.now) == Self.claims)
        var withNbf = Self.claims
        withNbf.notBefore = F.now
        #expect(try codec.verify(codec.sign(withNbf), now: F.now) == withNbf)
    }

    @Test func signedTokenHasTheDocumentedShape() throws {
        let token = F.codec().sign(Self.claims)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        let header = try #require(Base64.urlDecodeCanonical(parts[0]))
        let payload = try #require(Base64.urlDecodeCanonical(parts[1]))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"HS256","typ":"JWT","kid":"\#(F.currentKID)"}"#)
        #expect(
            String(decoding: payload, as: UTF8.self)
                == #"{"iss":"\#(F.issuer)","aud":"\#(F.audience)","sub":"42","sid":"sess-1","iat":\#(F.now),"exp":\#(F.now + 900),"token_use":"access"}"#
        )
        // The signature is HMAC-SHA256 over "header.payload" with the current secret.
        #expect(parts[2] == F.signature(parts[0] + "." + parts[1], key: F.currentSecret))
        #expect(!token.contains("="))
    }

    @Test func handCraftedValidTokenVerifies() throws {
        // Guards the rejection table: its baseline token must be accepted.
        let claims = try F.codec().verify(F.token(), now: F.now)
        #expect(claims.subject == "42")
        #expect(claims.userID == 42)
        #expect(claims.sessionID == "sess-1")
    }

    @Test func keyIDIsFirstSixteenHexOfSecretHash() {
        #expect(JWTKeySet(current: Array("abc".utf8)).currentKeyID == "ba7816bf8f01cfea")
        let keys = JWTKeySet(current: F.currentSecret)
        #expect(keys.currentKeyID.count == 16)
        #expect(keys.currentKeyID == String(SHA256Digest.hex(SHA256Digest.hash(F.currentSecret)).prefix(16)))
    }

    struct Accepted: Sendable, CustomTestStringConvertible {
        let name: String
        let token: String
        var testDescription: String { name }
    }

    @Test(arguments: [
        Accepted(name: "kid absent uses the current key", token: F.token(header: F.header(remove: ["kid"]))),
        Accepted(name: "typ absent", token: F.token(header: F.header(remove: ["typ"]))),
        Accepted(name: "jku ignored, never fetched", token: F.token(header: F.header(set: [("jku", #""http://127.0.0.1:1/keys""#)]))),
        Accepted(name: "x5u ignored, never fetched", token: F.token(header: F.header(set: [("x5u", #""http://127.0.0.1:1/cert""#)]))),
        Accepted(name: "jwk ignored", token: F.token(header: F.header(set: [("jwk", #"{"kty":"oct","k":"AAAA"}"#)]))),
        Accepted(name: "x5c ignored", token: F.token(header: F.header(set: [("x5c", #"["MIIB"]"#)]))),
        Accepted(name: "aud array containing ours", token: F.token(payload: F.claims(set: [("aud", "[\"x\",\"\(F.audience)\"]")]))),
        Accepted(name: "extra claims ignored", token: F.token(payload: F.claims(set: [("scope", #""a b""#), ("jti", #""j1""#)]))),
        Accepted(name: "whitespace in JSON", token: F.token(payload: " " + F.claims() + "\n")),
        Accepted(name: "exp Int64.max never traps", token: F.token(payload: F.claims(set: [("exp", "9223372036854775807")]))),
        Accepted(name: "nbf Int64.min", token: F.token(payload: F.claims(set: [("nbf", "-9223372036854775808")]))),
        Accepted(name: "iat far in the past", token: F.token(payload: F.claims(set: [("iat", "-9223372036854775808")]))),
        Accepted(name: "sub Int64.max", token: F.token(payload: F.claims(set: [("sub", #""9223372036854775807""#)]))),
    ])
    func accepts(_ accepted: Accepted) throws {
        _ = try F.codec().verify(accepted.token, now: F.now)
    }

    /// With leeway L = 60 a token is valid while now < exp + L.
    @Test(arguments: [
        (Int64(900), true), (Int64(0), true), (Int64(-59), true),
        (Int64(-60), false), (Int64(-61), false), (Int64(-100_000), false),
    ])
    func expiryBoundary(_ expOffset: Int64, _ valid: Bool) {
        let token = F.token(payload: F.claims(set: [("iat", "\(F.now - 200_000)"), ("exp", "\(F.now + expOffset)")]))
        do {
            _ = try F.codec().verify(token, now: F.now)
            #expect(valid)
        } catch {
            #expect(!valid)
            #expect(error == .expired)
            #expect(error.isExpired)
        }
    }

    @Test func expiryWithoutLeeway() throws {
        let codec = F.codec(leeway: 0)
        let token = F.token(payload: F.claims(set: [("exp", "\(F.now + 1)")]))
        _ = try codec.verify(token, now: F.now)
        #expect(throws: JWTError.expired) { try codec.verify(token, now: F.now + 1) }
    }

    @Test func hugeNegativeExpIsExpiredNotATrap() {
        let token = F.token(payload: F.claims(set: [("exp", "-9223372036854775808")]))
        #expect(throws: JWTError.expired) { try F.codec().verify(token, now: F.now) }
        #expect(throws: JWTError.expired) { try F.codec().verify(token, now: Int64.max) }
    }

    @Test func extremeClockValuesNeverTrap() {
        let token = F.token()
        #expect(throws: JWTError.expired) { try F.codec().verify(token, now: Int64.max) }
        #expect(throws: JWTError.invalid("iat in the future")) { try F.codec().verify(token, now: Int64.min) }
    }

    /// nbf and iat may be up to L seconds in the future.
    @Test(arguments: [(Int64(0), true), (Int64(60), true), (Int64(61), false), (Int64(-1000), true)])
    func notBeforeBoundary(_ offset: Int64, _ valid: Bool) {
        let nbfToken = F.token(payload: F.claims(set: [("nbf", "\(F.now + offset)")]))
        let iatToken = F.token(payload: F.claims(set: [("iat", "\(F.now + offset)")]))
        for (token, reason) in [(nbfToken, "token not yet valid (nbf)"), (iatToken, "iat in the future")] {
            do {
                _ = try F.codec().verify(token, now: F.now)
                #expect(valid)
            } catch {
                #expect(!valid)
                #expect(error == .invalid(reason))
            }
        }
    }

    @Test func tokenAtExactlyMaxSizeIsAcceptedOneMoreIsNot() throws {
        // Grow a padding claim until the token is as close to 8192 bytes as base64 allows.
        var best: String?
        var tooBig: String?
        for length in 5_700..<6_300 {
            let token = F.token(payload: F.claims(set: [("pad", "\"" + String(repeating: "x", count: length) + "\"")]))
            if token.utf8.count <= 8192 { best = token } else if tooBig == nil { tooBig = token }
        }
        let fits = try #require(best)
        let over = try #require(tooBig)
        #expect(fits.utf8.count >= 8190)
        _ = try F.codec().verify(fits, now: F.now)
        #expect(throws: JWTError.invalid("token too large")) { try F.codec().verify(over, now: F.now) }
    }

    @Test func rotation() throws {
        let oldCodec = F.codec(current: F.previousSecret)
        let oldToken = oldCodec.sign(Self.claims)

        // New key current, old key previous: old tokens still verify; new tokens use the new kid.
        let rotated = F.codec(current: F.currentSecret, previous: F.previousSecret)
        #expect(try rotated.verify(oldToken, now: F.now) == Self.claims)
        let newToken = rotated.sign(Self.claims)
        #expect(try rotated.verify(newToken, now: F.now) == Self.claims)
        #expect(newToken.split(separator: ".").first == F.encode(F.header()).split(separator: ".").first)
        #expect(rotated.keys.previousKeyID == F.previousKID)

        // Previous key dropped: old tokens are refused.
        let dropped = F.codec(current: F.currentSecret)
        #expect(throws: JWTError.invalid("unknown kid")) { try dropped.verify(oldToken, now: F.now) }
        #expect(try dropped.verify(newToken, now: F.now) == Self.claims)

        // The old codec does not know the new key.
        #expect(throws: JWTError.invalid("unknown kid")) { try oldCodec.verify(newToken, now: F.now) }
    }

    @Test func previousKeyWithoutKidIsNotTried() {
        // kid absent: only the current key is tried, so a previous-key signature fails.
        let token = F.token(header: F.header(remove: ["kid"]), key: F.previousSecret)
        let rotated = F.codec(current: F.currentSecret, previous: F.previousSecret)
        #expect(throws: JWTError.invalid("signature mismatch")) { try rotated.verify(token, now: F.now) }
    }

    @Test func errorsCarryNoTokenText() {
        let token = F.token(payload: F.claims(set: [("iss", #""secret-looking-issuer""#)]))
        do {
            _ = try F.codec().verify(token, now: F.now)
            Issue.record("accepted")
        } catch {
            #expect(!error.reason.contains("secret-looking-issuer"))
            #expect(!error.reason.contains(token))
        }
    }
}
