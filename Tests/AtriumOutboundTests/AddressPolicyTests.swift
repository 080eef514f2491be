import Testing
@testable import AtriumOutbound

/// The SSRF guard: every spelling of an internal address must be recognised and refused.
@Suite struct AddressPolicyTests {
    /// Host spellings (as they appear in a URL) that must all land on a forbidden address.
    static let forbiddenHosts: [String] = [
        "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0x7F000001", "0177.0.0.1", "0x7f.1",
        "0177.1", "127.0.0.1.", "0", "0.0.0.0", "10.0.0.1", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "255.255.255.255",
        "240.0.0.1", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1",
        "[::1]", "[::]", "[fe80::1]", "[fe80::1%25eth0]", "[fc00::1]", "[fd12:3456::1]",
        "[ff02::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::ffff:10.0.0.1]",
        "[::127.0.0.1]", "[::ffff:0:127.0.0.1]", "[64:ff9b::7f00:1]", "[64:ff9b::169.254.169.254]",
        "[2001:db8::1]", "[2002:7f00:1::1]", "[2001::1]", "[fec0::1]", "[100::1]",
    ]

    @Test(arguments: forbiddenHosts)
    func forbiddenSpellingIsRefused(host: String) throws {
        let address = try #require(AddressPolicy.literalAddress(host), "\(host) should parse as a literal")
        #expect(AddressPolicy.isForbidden(address), "\(host) -> \(address) must be forbidden")
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "1.1.1.1", "[2606:4700::1111]", "[2a00:1450:4001::200e]",
                      "[::ffff:93.184.216.34]", "[64:ff9b::5db8:d822]", "172.32.0.1", "100.128.0.1", "11.0.0.1"])
    func publicAddressIsAllowed(host: String) throws {
        let address = try #require(AddressPolicy.literalAddress(host))
        #expect(!AddressPolicy.isForbidden(address), "\(host) -> \(address) must be allowed")
    }

    @Test(arguments: [
        ("127.1", IPAddress.v4(0x7F00_0001)),
        ("2130706433", .v4(0x7F00_0001)),
        ("0x7f000001", .v4(0x7F00_0001)),
        ("0177.0.0.1", .v4(0x7F00_0001)),
        ("0x7f.1", .v4(0x7F00_0001)),
        ("10.1.258", .v4(0x0A01_0102)),
        ("0", .v4(0)),
        ("0x", .v4(0)),
        ("93.184.216.34", .v4(0x5DB8_D822)),
        ("[::1]", .v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
        ("::1", .v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
        ("fe80::1%eth0", .v6([0xFE, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
        ("[::ffff:127.0.0.1]", .v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1])),
    ])
    func literalSpellingParsesToAddress(host: String, expected: IPAddress) {
        #expect(AddressPolicy.literalAddress(host) == expected)
    }

    @Test(arguments: ["example.com", "localhost", "hooks.example.org.", "1.2.3.example", "0x7g.1",
                      "1.2.3.4.5", "256.1.1.1", "1.2.3.999", "08.1.1.1", "4294967296", "[::1", "[1.2.3.4]",
                      "[::gggg]", "", "1..2.3"])
    func nonLiteralIsNotAnAddress(host: String) {
        #expect(AddressPolicy.literalAddress(host) == nil)
    }

    @Test func descriptionIsCanonical() {
        #expect(IPAddress.v4(0x7F00_0001).description == "127.0.0.1")
        #expect(AddressPolicy.literalAddress("[::FFFF:7f00:1]")?.description == "::ffff:127.0.0.1")
    }
}
