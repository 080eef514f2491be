import AtriumCrypto
import Testing

@testable import AtriumAuth

/// One named case per rejection the contract lists (api.md §2). Every bad token is built by
/// hand and, wherever a valid signature is needed, signed with the real key, so each case
/// exercises exactly one defect; the expected reason proves which check refused it.
struct RejectionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let token: String
    let reason: String
    var testDescription: String { name }
}

private typealias F = JWTFixture

private func reject(_ name: String, _ token: String, _ reason: String) -> RejectionCase {
    RejectionCase(name: name, token: token, reason: reason)
}

@Suite struct JWTRejectionTests {
    static let cases: [RejectionCase] = {
        let valid = F.token()
        let parts = valid.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let encodedHeader = F.encode(F.header())
        let encodedClaims = F.encode(F.claims())
        var oversized = F.claims(set: [("pad", "\"" + String(repeating: "x", count: 8200) + "\"")])
        oversized = F.token(payload: oversized)

        return [
            // Size and shape.
            reject("more than 8 KiB", oversized, "token too large"),
            reject("empty token", "", "token must have three parts"),
            reject("one part", encodedHeader, "token must have three parts"),
            reject("two parts", encodedHeader + "." + encodedClaims, "token must have three parts"),
            reject("four parts", valid + ".AAAA", "token must have three parts"),
            reject("four parts empty tail", valid + ".", "token must have three parts"),

            // Non-canonical base64url.
            reject("header with padding", F.signRaw(F.encodeWithPadding(F.header()), encodedClaims), "header is not canonical base64url"),
            reject("payload with padding", F.signRaw(encodedHeader, F.encodeWithPadding(F.claims())), "payload is not canonical base64url"),
            reject("signature with padding", valid + "=", "signature is not canonical base64url"),
            reject(
                "header with plus",
                F.signRaw(F.encodeWithStandardCharacter(F.defaultHeader, urlCharacter: "-", replacement: "+"), encodedClaims),
                "header is not canonical base64url"),
            reject(
                "header with slash",
                F.signRaw(F.encodeWithStandardCharacter(F.defaultHeader, urlCharacter: "_", replacement: "/"), encodedClaims),
                "header is not canonical base64url"),
            reject(
                "payload with plus",
                F.signRaw(encodedHeader, F.encodeWithStandardCharacter(F.defaultClaims, urlCharacter: "-", replacement: "+")),
                "payload is not canonical base64url"),
            reject(
                "payload with slash",
                F.signRaw(encodedHeader, F.encodeWithStandardCharacter(F.defaultClaims, urlCharacter: "_", replacement: "/")),
                "payload is not canonical base64url"),
            reject("signature with plus", parts[0] + "." + parts[1] + ".+" + parts[2].dropFirst(), "signature is not canonical base64url"),
            reject("signature with slash", parts[0] + "." + parts[1] + "./" + parts[2].dropFirst(), "signature is not canonical base64url"),
            reject("header with stray bits", F.signRaw(F.encodeWithStrayBits(F.header()), encodedClaims), "header is not canonical base64url"),
            reject("payload with stray bits", F.signRaw(encodedHeader, F.encodeWithStrayBits(F.claims())), "payload is not canonical base64url"),
            reject("signature with stray bits", parts[0] + "." + parts[1] + "." + F.withStrayBits(parts[2]), "signature is not canonical base64url"),
            reject("signature length 1 mod 4", valid + "AA", "signature is not canonical base64url"),
            reject("header with space", F.signRaw(" " + encodedHeader, encodedClaims), "header is not canonical base64url"),

            // Header JSON.
            reject("header not JSON", F.token(header: "not json"), "header is not valid JSON (invalid literal)"),
            reject("header trailing comma", F.token(header: #"{"alg":"HS256",}"#), "header is not valid JSON (expected object key)"),
            reject("header is an array", F.token(header: #"["HS256"]"#), "header is not a JSON object"),
            reject("header is a string", F.token(header: #""HS256""#), "header is not a JSON object"),
            reject("header is empty", F.token(header: ""), "header is not valid JSON (unexpected end)"),
            reject(
                "header duplicate alg", F.token(header: #"{"alg":"HS256","alg":"HS256","kid":"\#(F.currentKID)"}"#),
                "header is not valid JSON (duplicate key)"),
            reject(
                "header duplicate alg escaped", F.token(header: #"{"alg":"none","\u0061lg":"HS256","kid":"\#(F.currentKID)"}"#),
                "header is not valid JSON (duplicate key)"),
            reject(
                "header duplicate kid", F.token(header: #"{"alg":"HS256","kid":"\#(F.currentKID)","kid":"x"}"#),
                "header is not valid JSON (duplicate key)"),
            reject("header invalid UTF-8", F.signRaw(Base64.urlEncode(Array(#"{"alg":"HS256","x":""#.utf8) + [0xFF, 0x22, 0x7D]), encodedClaims),
                   "header is not valid JSON (invalid UTF-8)"),

            // alg.
            reject("alg missing", F.token(header: F.header(remove: ["alg"])), "alg missing"),
            reject("alg null", F.token(header: F.header(set: [("alg", "null")])), "alg is not a string"),
            reject("alg number", F.token(header: F.header(set: [("alg", "256")])), "alg is not a string"),
            reject("alg array", F.token(header: F.header(set: [("alg", #"["HS256"]"#)])), "alg is not a string"),
            reject("alg none", F.token(header: F.header(set: [("alg", #""none""#)])), "alg not allowed"),
            reject("alg None", F.token(header: F.header(set: [("alg", #""None""#)])), "alg not allowed"),
            reject("alg NONE", F.token(header: F.header(set: [("alg", #""NONE""#)])), "alg not allowed"),
            reject("alg nOnE", F.token(header: F.header(set: [("alg", #""nOnE""#)])), "alg not allowed"),
            reject("alg none with empty signature", F.encode(F.header(set: [("alg", #""none""#)])) + "." + encodedClaims + ".", "alg not allowed"),
            reject("alg HS384", F.token(header: F.header(set: [("alg", #""HS384""#)])), "alg not allowed"),
            reject("alg HS512", F.token(header: F.header(set: [("alg", #""HS512""#)])), "alg not allowed"),
            reject("alg RS256", F.token(header: F.header(set: [("alg", #""RS256""#)])), "alg not allowed"),
            reject("alg ES256", F.token(header: F.header(set: [("alg", #""ES256""#)])), "alg not allowed"),
            reject("alg PS256", F.token(header: F.header(set: [("alg", #""PS256""#)])), "alg not allowed"),
            reject("alg lower-case hs256", F.token(header: F.header(set: [("alg", #""hs256""#)])), "alg not allowed"),
            reject("alg with trailing space", F.token(header: F.header(set: [("alg", #""HS256 ""#)])), "alg not allowed"),
            reject("alg empty", F.token(header: F.header(set: [("alg", #""""#)])), "alg not allowed"),

            // crit and kid.
            reject("crit present", F.token(header: F.header(set: [("crit", #"["exp"]"#)])), "crit header not supported"),
            reject("crit empty array", F.token(header: F.header(set: [("crit", "[]")])), "crit header not supported"),
            reject("kid unknown", F.token(header: F.header(set: [("kid", #""0000000000000000""#)])), "unknown kid"),
            reject("kid of a dropped key", F.token(header: F.header(set: [("kid", "\"\(F.previousKID)\"")]), key: F.previousSecret), "unknown kid"),
            reject("kid not a string", F.token(header: F.header(set: [("kid", "7")])), "kid is not a string"),
            reject("kid absent, signed with another key", F.token(header: F.header(remove: ["kid"]), key: F.previousSecret), "signature mismatch"),

            // Signature.
            reject("empty signature", parts[0] + "." + parts[1] + ".", "empty signature"),
            reject("wrong signature (other key)", F.token(key: F.otherSecret), "signature mismatch"),
            reject("truncated signature", parts[0] + "." + parts[1] + "." + Base64.urlEncode(Array((Base64.urlDecodeCanonical(parts[2]) ?? []).prefix(31))), "signature mismatch"),
            reject("signature of another token", parts[0] + "." + F.encode(F.claims(set: [("sub", #""43""#)])) + "." + parts[2], "signature mismatch"),
            reject("tampered payload", parts[0] + "." + F.encode(F.claims(set: [("exp", "\(F.now + 999_999)")])) + "." + parts[2], "signature mismatch"),
            reject("tampered header", F.encode(F.header(set: [("typ", #""jwt""#)])) + "." + parts[1] + "." + parts[2], "signature mismatch"),

            // Payload JSON.
            reject("payload not JSON", F.token(payload: "{exp:1}"), "payload is not valid JSON (expected object key)"),
            reject("payload is an array", F.token(payload: "[]"), "payload is not a JSON object"),
            reject("payload is a number", F.token(payload: "42"), "payload is not a JSON object"),
            reject("payload with comment", F.token(payload: F.claims() + "//"), "payload is not valid JSON (trailing characters)"),
            reject("payload duplicate sub", F.token(payload: F.claims(set: [("sub", #""42","sub":"1""#)])), "payload is not valid JSON (duplicate key)"),
            reject("payload duplicate exp", F.token(payload: F.claims(set: [("exp", "\(F.now + 900),\"exp\":\(F.now + 9_999_999)")])), "payload is not valid JSON (duplicate key)"),
            reject("payload duplicate escaped key", F.token(payload: F.claims(set: [("aud", "\"\(F.audience)\",\"\\u0061ud\":\"x\"")])), "payload is not valid JSON (duplicate key)"),
            reject("payload too deep", F.token(payload: F.claims(set: [("x", String(repeating: "[", count: 20) + String(repeating: "]", count: 20))])),
                   "payload is not valid JSON (nesting too deep)"),

            // iss / aud.
            reject("iss wrong", F.token(payload: F.claims(set: [("iss", #""https://evil.example""#)])), "wrong issuer"),
            reject("iss missing", F.token(payload: F.claims(remove: ["iss"])), "iss missing"),
            reject("iss not a string", F.token(payload: F.claims(set: [("iss", "1")])), "iss is not a string"),
            reject("aud wrong", F.token(payload: F.claims(set: [("aud", #""other-api""#)])), "wrong audience"),
            reject("aud array without ours", F.token(payload: F.claims(set: [("aud", #"["a","b"]"#)])), "wrong audience"),
            reject("aud empty array", F.token(payload: F.claims(set: [("aud", "[]")])), "wrong audience"),
            reject("aud array with non-string", F.token(payload: F.claims(set: [("aud", "[\"\(F.audience)\",1]")])), "aud is not a string or array of strings"),
            reject("aud number", F.token(payload: F.claims(set: [("aud", "1")])), "aud is not a string or array of strings"),
            reject("aud missing", F.token(payload: F.claims(remove: ["aud"])), "aud missing"),

            // Claim types.
            reject("sub not a string", F.token(payload: F.claims(set: [("sub", "42")])), "sub is not a string"),
            reject("sub missing", F.token(payload: F.claims(remove: ["sub"])), "sub missing"),
            reject("sub zero", F.token(payload: F.claims(set: [("sub", #""0""#)])), "sub is not a positive integer"),
            reject("sub negative", F.token(payload: F.claims(set: [("sub", #""-1""#)])), "sub is not a positive integer"),
            reject("sub plus sign", F.token(payload: F.claims(set: [("sub", #""+1""#)])), "sub is not a positive integer"),
            reject("sub leading zero", F.token(payload: F.claims(set: [("sub", #""042""#)])), "sub is not a positive integer"),
            reject("sub fraction", F.token(payload: F.claims(set: [("sub", #""1.0""#)])), "sub is not a positive integer"),
            reject("sub letters", F.token(payload: F.claims(set: [("sub", #""abc""#)])), "sub is not a positive integer"),
            reject("sub empty", F.token(payload: F.claims(set: [("sub", #""""#)])), "sub is not a positive integer"),
            reject("sub overflow", F.token(payload: F.claims(set: [("sub", #""9223372036854775808""#)])), "sub is not a positive integer"),
            reject("sub non-ASCII digits", F.token(payload: F.claims(set: [("sub", #""\u0664\u0662""#)])), "sub is not a positive integer"),
            reject("sid not a string", F.token(payload: F.claims(set: [("sid", "1")])), "sid is not a string"),
            reject("sid missing", F.token(payload: F.claims(remove: ["sid"])), "sid missing"),
            reject("sid empty", F.token(payload: F.claims(set: [("sid", #""""#)])), "sid is empty"),
            reject("exp missing", F.token(payload: F.claims(remove: ["exp"])), "exp missing"),
            reject("exp string", F.token(payload: F.claims(set: [("exp", "\"\(F.now + 900)\"")])), "exp is not an integer"),
            reject("exp fraction", F.token(payload: F.claims(set: [("exp", "\(F.now + 900).5")])), "exp is not an integer"),
            reject("exp integral fraction", F.token(payload: F.claims(set: [("exp", "\(F.now + 900).0")])), "exp is not an integer"),
            reject("exp exponent", F.token(payload: F.claims(set: [("exp", "1.8000009e9")])), "exp is not an integer"),
            reject("exp 1e400", F.token(payload: F.claims(set: [("exp", "1e400")])), "exp is not an integer"),
            reject("exp above Int64", F.token(payload: F.claims(set: [("exp", "9223372036854775808")])), "exp is not an integer"),
            reject("exp null", F.token(payload: F.claims(set: [("exp", "null")])), "exp is not an integer"),
            reject("exp bool", F.token(payload: F.claims(set: [("exp", "true")])), "exp is not an integer"),
            reject("iat missing", F.token(payload: F.claims(remove: ["iat"])), "iat missing"),
            reject("iat fraction", F.token(payload: F.claims(set: [("iat", "\(F.now).25")])), "iat is not an integer"),
            reject("iat string", F.token(payload: F.claims(set: [("iat", "\"\(F.now)\"")])), "iat is not an integer"),
            reject("nbf fraction", F.token(payload: F.claims(set: [("nbf", "\(F.now).5")])), "nbf is not an integer"),
            reject("nbf exponent", F.token(payload: F.claims(set: [("nbf", "1e9")])), "nbf is not an integer"),
            reject("nbf below Int64", F.token(payload: F.claims(set: [("nbf", "-9223372036854775809")])), "nbf is not an integer"),

            // token_use.
            reject("token_use missing", F.token(payload: F.claims(remove: ["token_use"])), "token_use missing"),
            reject("token_use refresh", F.token(payload: F.claims(set: [("token_use", #""refresh""#)])), "token_use is not access"),
            reject("token_use Access", F.token(payload: F.claims(set: [("token_use", #""Access""#)])), "token_use is not access"),
            reject("token_use not a string", F.token(payload: F.claims(set: [("token_use", "1")])), "token_use is not a string"),

            // Time (other than expiry).
            reject("nbf beyond leeway", F.token(payload: F.claims(set: [("nbf", "\(F.now + 61)")])), "token not yet valid (nbf)"),
            reject("nbf Int64.max", F.token(payload: F.claims(set: [("nbf", "9223372036854775807")])), "token not yet valid (nbf)"),
            reject("iat beyond leeway", F.token(payload: F.claims(set: [("iat", "\(F.now + 61)")])), "iat in the future"),
            reject("iat Int64.max", F.token(payload: F.claims(set: [("iat", "9223372036854775807")])), "iat in the future"),
            reject(
                "expired and wrong audience is invalid, not expired",
                F.token(payload: F.claims(set: [("aud", #""other""#), ("exp", "\(F.now - 3600)")])), "wrong audience"),
            reject(
                "expired and nbf in the future is invalid, not expired",
                F.token(payload: F.claims(set: [("nbf", "\(F.now + 3600)"), ("exp", "\(F.now - 3600)")])), "token not yet valid (nbf)"),
        ]
    }()

    @Test(arguments: cases)
    func rejects(_ testCase: RejectionCase) {
        let codec = F.codec()
        do {
            let claims = try codec.verify(testCase.token, now: F.now)
            Issue.record("accepted a bad token: \(claims)")
        } catch {
            #expect(error == .invalid(testCase.reason))
            #expect(!error.isExpired)
        }
    }

    @Test func caseNamesAreUnique() {
        #expect(Set(Self.cases.map(\.name)).count == Self.cases.count)
    }
}
