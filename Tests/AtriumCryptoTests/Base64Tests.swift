import Testing

@testable import AtriumCrypto

@Suite struct Base64Tests {
    /// RFC 4648 §10 vectors.
    static let rfc4648: [(String, String, String)] = [
        ("", "", ""),
        ("f", "Zg==", "Zg"),
        ("fo", "Zm8=", "Zm8"),
        ("foo", "Zm9v", "Zm9v"),
        ("foob", "Zm9vYg==", "Zm9vYg"),
        ("fooba", "Zm9vYmE=", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy", "Zm9vYmFy"),
    ]

    @Test(arguments: rfc4648)
    func rfc4648Vectors(_ plain: String, _ standard: String, _ url: String) {
        let data = Array(plain.utf8)
        #expect(Base64.encode(data) == standard)
        #expect(Base64.decode(standard) == data)
        #expect(Base64.urlEncode(data) == url)
        #expect(Base64.urlDecodeCanonical(url) == data)
    }

    @Test func alphabetsDifferInTheLastTwoCharacters() {
        let data: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(Base64.encode(data) == "+/+/")
        #expect(Base64.urlEncode(data) == "-_-_")
        #expect(Base64.decode("+/+/") == data)
        #expect(Base64.urlDecodeCanonical("-_-_") == data)
    }

    @Test func roundTripsEveryLengthAndByte() {
        for length in 0..<70 {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            #expect(Base64.decode(Base64.encode(data)) == data)
            #expect(Base64.urlDecodeCanonical(Base64.urlEncode(data)) == data)
        }
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.urlDecodeCanonical(Base64.urlEncode(all)) == all)
    }

    struct Rejection: Sendable, CustomTestStringConvertible {
        let name: String
        let input: String
        var testDescription: String { name }
    }

    @Test(arguments: [
        Rejection(name: "padding ==", input: "Zg=="),
        Rejection(name: "padding =", input: "Zm8="),
        Rejection(name: "plus", input: "+w"),
        Rejection(name: "slash", input: "/w"),
        Rejection(name: "length 1 mod 4", input: "Zm9vY"),
        Rejection(name: "single character", input: "Z"),
        Rejection(name: "stray bits in 2-char tail", input: "Zh"),
        Rejection(name: "stray bits in 3-char tail", input: "Zm9"),
        Rejection(name: "space", input: "Zm9v Zg"),
        Rejection(name: "newline", input: "Zm9v\nZg"),
        Rejection(name: "dot", input: "Zm9v.g"),
        Rejection(name: "non-ASCII", input: "Zm9vé"),
        Rejection(name: "NUL", input: "Zm\0v"),
        Rejection(name: "padding in the middle", input: "Zg==Zg"),
    ])
    func urlDecodeRejects(_ rejection: Rejection) {
        #expect(Base64.urlDecodeCanonical(rejection.input) == nil)
    }

    @Test(arguments: [
        Rejection(name: "missing padding", input: "Zg"),
        Rejection(name: "three padding characters", input: "Z==="),
        Rejection(name: "padding in the middle", input: "Zg==Zm8="),
        Rejection(name: "url alphabet", input: "-_-_"),
        Rejection(name: "stray bits", input: "Zh=="),
        Rejection(name: "stray bits single pad", input: "Zm9="),
        Rejection(name: "whitespace", input: "Zm9v\n"),
        Rejection(name: "only padding", input: "===="),
    ])
    func standardDecodeRejects(_ rejection: Rejection) {
        #expect(Base64.decode(rejection.input) == nil)
    }
}
