import Testing

@testable import AtriumCrypto

@Suite struct SHA256DigestTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func knownVectors(_ message: String, _ digest: String) {
        #expect(SHA256Digest.hex(SHA256Digest.hash(message)) == digest)
        #expect(SHA256Digest.hash(Array(message.utf8)) == bytes(hex: digest))
        let viaBuffer = Array(message.utf8).withUnsafeBytes { SHA256Digest.hash($0) }
        #expect(viaBuffer == bytes(hex: digest))
    }

    @Test func millionAs() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256Digest.hex(SHA256Digest.hash(message)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func hexIsLowercaseAndPadded() {
        #expect(SHA256Digest.hex([0x00, 0x0F, 0xA0, 0xFF]) == "000fa0ff")
        #expect(SHA256Digest.hex([]) == "")
    }
}

@Suite struct HMACSHA256Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: [UInt8]
        let data: [UInt8]
        let mac: String
        var testDescription: String { name }
    }

    /// RFC 4231 §4.2–4.8.
    static let rfc4231: [Vector] = [
        Vector(
            name: "test case 1", key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8),
            mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        Vector(
            name: "test case 2", key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8),
            mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Vector(
            name: "test case 3", key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50),
            mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        Vector(
            name: "test case 4", key: Array(1...25), data: [UInt8](repeating: 0xcd, count: 50),
            mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        Vector(
            name: "test case 5 (truncated to 128 bits)", key: [UInt8](repeating: 0x0c, count: 20),
            data: Array("Test With Truncation".utf8), mac: "a3b6167473100ee06e0c796c2955552b"),
        Vector(
            name: "test case 6", key: [UInt8](repeating: 0xaa, count: 131),
            data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        Vector(
            name: "test case 7", key: [UInt8](repeating: 0xaa, count: 131),
            data: Array(
                "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                    .utf8),
            mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test(arguments: rfc4231)
    func rfc4231Vectors(_ vector: Vector) {
        let mac = HMACSHA256.authenticationCode(key: vector.key, message: vector.data)
        #expect(mac.count == 32)
        let expected = bytes(hex: vector.mac)
        #expect(Array(mac.prefix(expected.count)) == expected)
    }

    @Test func emptyKeyAndMessageAreDeterministic() {
        // HMAC-SHA256("", "") — a NULL key must not mean "reuse the previous key".
        let first = HMACSHA256.authenticationCode(key: [], message: [])
        _ = HMACSHA256.authenticationCode(key: Array("other".utf8), message: Array("x".utf8))
        let second = HMACSHA256.authenticationCode(key: [], message: [])
        #expect(first == second)
        #expect(SHA256Digest.hex(first) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }
}

@Suite struct PBKDF2Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let password: [UInt8]
        let salt: [UInt8]
        let iterations: Int
        let derived: String
        var testDescription: String { "\(String(decoding: password, as: UTF8.self)) c=\(iterations) dkLen=\(derived.count / 2)" }
    }

    /// PBKDF2-HMAC-SHA256 vectors (RFC 7914 §11 and the widely published RFC 6070-style set).
    static let vectors: [Vector] = [
        Vector(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 1,
               derived: "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
        Vector(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 2,
               derived: "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
        Vector(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 4096,
               derived: "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
        Vector(password: Array("passwordPASSWORDpassword".utf8), salt: Array("saltSALTsaltSALTsaltSALTsaltSALTsalt".utf8),
               iterations: 4096, derived: "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"),
        Vector(password: Array("pass\0word".utf8), salt: Array("sa\0lt".utf8), iterations: 4096,
               derived: "89b69d0516f829893c696226650a8687"),
        Vector(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1,
               derived: "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"),
    ]

    @Test(arguments: vectors)
    func knownVectors(_ vector: Vector) {
        let derived = PBKDF2.sha256(
            password: vector.password, salt: vector.salt, iterations: vector.iterations, keyLength: vector.derived.count / 2)
        #expect(SHA256Digest.hex(derived) == vector.derived)
    }

    @Test func emptyPasswordWorks() {
        let a = PBKDF2.sha256(password: [], salt: Array("salt".utf8), iterations: 2, keyLength: 32)
        // (Not [0]: HMAC zero-pads keys, so "" and "\0" are the same key by design.)
        let b = PBKDF2.sha256(password: [0x78], salt: Array("salt".utf8), iterations: 2, keyLength: 32)
        #expect(a.count == 32)
        #expect(a != b)
    }
}
