import AtriumCrypto
import Testing

@testable import AtriumAuth

@Suite struct PasswordHasherTests {
    /// A low count keeps tests fast; the production default is checked separately.
    static let hasher = PasswordHasher(iterations: 1000)

    @Test func defaultMeetsOWASP2023() {
        #expect(PasswordHasher().iterations >= 600_000)
        #expect(PasswordHasher.defaultIterations >= 600_000)
    }

    @Test func encodedFormat() throws {
        let encoded = Self.hasher.hash("correct horse battery staple")
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        try #require(fields.count == 5)
        #expect(fields[0] == "")
        #expect(fields[1] == "pbkdf2-sha256")
        #expect(fields[2] == "i=1000")
        #expect(Base64.decode(fields[3])?.count == 16)
        #expect(Base64.decode(fields[4])?.count == 32)
    }

    @Test func defaultHasherWritesItsIterationCount() {
        // Parse only: hashing at 600k would slow the suite, so check the format function.
        #expect(PasswordHasher.parse("$pbkdf2-sha256$i=600000$c2FsdFNBTFRzYWx0U0FMVA==$RviVuqoYXwJlwdpwjXmZU95ZL1dsRTi366mc7XAO51s=")?.iterations == 600_000)
    }

    @Test func verifiesTheRightPasswordOnly() {
        let encoded = Self.hasher.hash("hunter22")
        #expect(Self.hasher.verify("hunter22", against: encoded))
        #expect(!Self.hasher.verify("hunter23", against: encoded))
        #expect(!Self.hasher.verify("Hunter22", against: encoded))
        #expect(!Self.hasher.verify("", against: encoded))
        #expect(!Self.hasher.verify("hunter22 ", against: encoded))
    }

    @Test func saltMakesHashesDiffer() {
        #expect(Self.hasher.hash("same") != Self.hasher.hash("same"))
    }

    @Test func unicodeAndEmptyPasswords() {
        for password in ["", "пароль密码🔑", String(repeating: "x", count: 256)] {
            let encoded = Self.hasher.hash(password)
            #expect(Self.hasher.verify(password, against: encoded))
        }
    }

    /// Cross-checked with `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:password
    /// -kdfopt salt:saltSALTsaltSALT -kdfopt iter:1000 PBKDF2`.
    @Test func verifiesAnIndependentlyComputedHash() {
        let encoded = "$pbkdf2-sha256$i=1000$c2FsdFNBTFRzYWx0U0FMVA==$RviVuqoYXwJlwdpwjXmZU95ZL1dsRTi366mc7XAO51s="
        #expect(Self.hasher.verify("password", against: encoded))
        #expect(!Self.hasher.verify("passwore", against: encoded))
    }

    @Test func parametersComeFromTheEncodedString() {
        let encoded = PasswordHasher(iterations: 1500).hash("pw")
        #expect(PasswordHasher(iterations: 2000).verify("pw", against: encoded))
        // Same salt and hash with a different iteration count must not verify.
        let tampered = encoded.replacing("$i=1500$", with: "$i=1501$")
        #expect(!Self.hasher.verify("pw", against: tampered))
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let encoded: String
        var testDescription: String { name }
    }

    static let salt = "c2FsdFNBTFRzYWx0U0FMVA=="
    static let hash = "RviVuqoYXwJlwdpwjXmZU95ZL1dsRTi366mc7XAO51s="

    @Test(arguments: [
        Malformed(name: "empty", encoded: ""),
        Malformed(name: "plain text", encoded: "password"),
        Malformed(name: "missing leading dollar", encoded: "pbkdf2-sha256$i=1000$\(salt)$\(hash)"),
        Malformed(name: "other scheme", encoded: "$pbkdf2-sha512$i=1000$\(salt)$\(hash)"),
        Malformed(name: "bcrypt", encoded: "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"),
        Malformed(name: "missing field", encoded: "$pbkdf2-sha256$i=1000$\(salt)"),
        Malformed(name: "extra field", encoded: "$pbkdf2-sha256$i=1000$\(salt)$\(hash)$"),
        Malformed(name: "iterations zero", encoded: "$pbkdf2-sha256$i=0$\(salt)$\(hash)"),
        Malformed(name: "iterations leading zero", encoded: "$pbkdf2-sha256$i=01000$\(salt)$\(hash)"),
        Malformed(name: "iterations negative", encoded: "$pbkdf2-sha256$i=-1000$\(salt)$\(hash)"),
        Malformed(name: "iterations plus sign", encoded: "$pbkdf2-sha256$i=+1000$\(salt)$\(hash)"),
        Malformed(name: "iterations not a number", encoded: "$pbkdf2-sha256$i=abc$\(salt)$\(hash)"),
        Malformed(name: "iterations empty", encoded: "$pbkdf2-sha256$i=$\(salt)$\(hash)"),
        Malformed(name: "iterations overflow", encoded: "$pbkdf2-sha256$i=99999999999999999999999$\(salt)$\(hash)"),
        Malformed(name: "iterations above maximum", encoded: "$pbkdf2-sha256$i=999999999$\(salt)$\(hash)"),
        Malformed(name: "iterations without name", encoded: "$pbkdf2-sha256$1000$\(salt)$\(hash)"),
        Malformed(name: "salt not base64", encoded: "$pbkdf2-sha256$i=1000$not base64!$\(hash)"),
        Malformed(name: "salt without padding", encoded: "$pbkdf2-sha256$i=1000$c2FsdFNBTFRzYWx0U0FMVA$\(hash)"),
        Malformed(name: "salt empty", encoded: "$pbkdf2-sha256$i=1000$$\(hash)"),
        Malformed(name: "salt too short", encoded: "$pbkdf2-sha256$i=1000$c2FsdA==$\(hash)"),
        Malformed(name: "hash empty", encoded: "$pbkdf2-sha256$i=1000$\(salt)$"),
        Malformed(name: "hash too short", encoded: "$pbkdf2-sha256$i=1000$\(salt)$AAAA"),
        Malformed(name: "hash url alphabet", encoded: "$pbkdf2-sha256$i=1000$\(salt)$\(hash.replacing("/", with: "_").replacing("+", with: "-"))x"),
        Malformed(name: "hash truncated by one char", encoded: "$pbkdf2-sha256$i=1000$\(salt)$\(hash.dropLast())"),
    ])
    func malformedEncodingsReturnFalse(_ malformed: Malformed) {
        #expect(!Self.hasher.verify("password", against: malformed.encoded))
        #expect(PasswordHasher.parse(malformed.encoded) == nil)
    }

    @Test func verifyDummyCostsAboutTheSameAsVerify() {
        let hasher = PasswordHasher(iterations: 40_000)
        let encoded = hasher.hash("pw")
        let clock = ContinuousClock()
        func median(_ body: () -> Void) -> Duration {
            var samples: [Duration] = []
            for _ in 0..<5 { samples.append(clock.measure(body)) }
            return samples.sorted()[2]
        }
        let real = median { _ = hasher.verify("wrong", against: encoded) }
        let dummy = median { hasher.verifyDummy("wrong") }
        let ratio = Double(dummy.components.attoseconds / 1_000_000 + dummy.components.seconds * 1_000_000_000_000)
            / Double(real.components.attoseconds / 1_000_000 + real.components.seconds * 1_000_000_000_000)
        // Not a speed test: a dummy that skipped the KDF would be ~1000x faster; bounds are wide for shared CI.
        #expect(ratio > 0.1 && ratio < 10.0, "dummy/verify time ratio \(ratio)")
    }
}
