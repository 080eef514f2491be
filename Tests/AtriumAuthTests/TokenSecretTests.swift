import AtriumCrypto
import Testing

@testable import AtriumAuth

@Suite struct RefreshTokenSecretTests {
    @Test func formatAndUniqueness() {
        var seen = Set<String>()
        for _ in 0..<200 {
            let token = RefreshTokenSecret.generate()
            #expect(token.hasPrefix("art_"))
            #expect(token.utf8.count == 47)
            #expect(token.utf8.dropFirst(4).allSatisfy(APIKeySecret.isBase62))
            #expect(RefreshTokenSecret.isWellFormed(token))
            seen.insert(token)
        }
        #expect(seen.count == 200)
    }

    @Test(arguments: ["", "art_", "art_abc", "atr_" + String(repeating: "a", count: 43), "art_" + String(repeating: "a", count: 42) + "-",
                      "art_" + String(repeating: "a", count: 44)])
    func rejectsMalformed(_ candidate: String) {
        #expect(!RefreshTokenSecret.isWellFormed(candidate))
    }

    @Test func hashIsSHA256OfTheToken() {
        let token = RefreshTokenSecret.generate()
        #expect(RefreshTokenSecret.hash(token) == SHA256Digest.hash(Array(token.utf8)))
        #expect(RefreshTokenSecret.hash(token) != RefreshTokenSecret.hash(RefreshTokenSecret.generate()))
    }
}
