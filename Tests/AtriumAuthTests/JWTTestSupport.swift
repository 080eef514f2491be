import AtriumCrypto
import AtriumJSON

@testable import AtriumAuth

/// Fixtures for hand-crafting tokens, so that each rejection test changes exactly one thing
/// and still carries a correct HMAC where a correct one is needed.
enum JWTFixture {
    static let currentSecret: [UInt8] = Array("current-secret-0123456789abcdefXYZ".utf8)
    static let previousSecret: [UInt8] = Array("previous-secret-0123456789abcdefXY".utf8)
    static let otherSecret: [UInt8] = Array("some-other-secret-0123456789abcdef".utf8)
    static let issuer = "https://atrium.example"
    static let audience = "atrium-api"
    static let now: Int64 = 1_800_000_000

    static var currentKID: String { JWTKeySet.keyID(for: currentSecret) }
    static var previousKID: String { JWTKeySet.keyID(for: previousSecret) }

    static func codec(current: [UInt8] = currentSecret, previous: [UInt8]? = nil, leeway: Int64 = 60) -> JWTCodec {
        JWTCodec(keys: JWTKeySet(current: current, previous: previous), issuer: issuer, audience: audience, leewaySeconds: leeway)
    }

    /// Members as (name, raw JSON value text), in order.
    typealias Members = [(String, String)]

    static var defaultHeader: Members {
        [("alg", #""HS256""#), ("typ", #""JWT""#), ("kid", "\"\(currentKID)\"")]
    }

    static var defaultClaims: Members {
        [
            ("iss", "\"\(issuer)\""), ("aud", "\"\(audience)\""), ("sub", #""42""#), ("sid", #""sess-1""#),
            ("iat", "\(now)"), ("exp", "\(now + 900)"), ("token_use", #""access""#),
        ]
    }

    /// Replaces members named in `set` (appending new ones), then drops those in `remove`.
    static func json(_ base: Members, set: Members = [], remove: [String] = []) -> String {
        var members = base
        for (name, value) in set {
            if let index = members.firstIndex(where: { $0.0 == name }) {
                members[index].1 = value
            } else {
                members.append((name, value))
            }
        }
        members.removeAll { remove.contains($0.0) }
        return "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func header(set: Members = [], remove: [String] = []) -> String {
        json(defaultHeader, set: set, remove: remove)
    }

    static func claims(set: Members = [], remove: [String] = []) -> String {
        json(defaultClaims, set: set, remove: remove)
    }

    static func encode(_ text: String) -> String { Base64.urlEncode(Array(text.utf8)) }

    static func signature(_ signingInput: String, key: [UInt8]) -> String {
        Base64.urlEncode(HMACSHA256.authenticationCode(key: key, message: Array(signingInput.utf8)))
    }

    /// `encodedHeader.encodedPayload.signature`, signed over exactly the given encoded text.
    static func signRaw(_ encodedHeader: String, _ encodedPayload: String, key: [UInt8] = currentSecret) -> String {
        let input = encodedHeader + "." + encodedPayload
        return input + "." + signature(input, key: key)
    }

    static func token(header: String = header(), payload: String = claims(), key: [UInt8] = currentSecret) -> String {
        signRaw(encode(header), encode(payload), key: key)
    }

    /// Standard-base64 with its `=` padding but the url alphabet. Pads the JSON with trailing
    /// whitespace (still valid JSON) until padding is needed.
    static func encodeWithPadding(_ json: String) -> String {
        var text = json
        while text.utf8.count % 3 == 0 { text += " " }
        return Base64.encode(Array(text.utf8)).replacing("+", with: "-").replacing("/", with: "_")
    }

    /// The canonical encoding of `json` (padded with whitespace so that its length leaves a
    /// partial group), with unused low bits set in the last character: a lenient decoder
    /// would return the same bytes.
    static func encodeWithStrayBits(_ json: String) -> String {
        var text = json
        while text.utf8.count % 3 == 0 { text += " " }
        return withStrayBits(encode(text))
    }

    static func withStrayBits(_ encoded: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var characters = Array(encoded)
        precondition(characters.count % 4 == 2 || characters.count % 4 == 3)
        let last = characters[characters.count - 1]
        let index = alphabet.firstIndex(of: last) ?? 0
        characters[characters.count - 1] = alphabet[index + 1]  // low bits were zero, now one is set
        return String(characters)
    }

    /// An encoding of `json` (with a `"pad"` member) whose base64url text contains `character`
    /// ("-" or "_"), with that character swapped for its standard-alphabet twin.
    static func encodeWithStandardCharacter(_ members: Members, urlCharacter: Character, replacement: Character) -> String {
        // "???" encodes to "Pz8_" and "~~~" to "fn5-" when aligned; try the three alignments.
        for spaces in 0..<3 {
            let json = String(repeating: " ", count: spaces) + self.json(members, set: [("pad", #""???~~~???~~~""#)])
            let encoded = encode(json)
            if encoded.contains(urlCharacter) {
                return encoded.replacing(String(urlCharacter), with: String(replacement))
            }
        }
        preconditionFailure("could not craft an encoding containing \(urlCharacter)")
    }
}
