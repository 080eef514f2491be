import Testing
@testable import AtriumAPI

/// `--trusted-proxies`: which address a request is from (login throttle, audit log).
@Suite struct ClientAddressTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let trusted: [String]
        let peer: String
        let forwardedFor: [String]
        let expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no trusted proxies: the header is ignored", trusted: [], peer: "10.0.0.5",
             forwardedFor: ["203.0.113.7"], expected: "10.0.0.5"),
        Case(name: "untrusted peer: the header is ignored", trusted: ["10.0.0.0/8"], peer: "198.51.100.1",
             forwardedFor: ["203.0.113.7"], expected: "198.51.100.1"),
        Case(name: "trusted peer names the client", trusted: ["10.0.0.0/8"], peer: "10.0.0.5",
             forwardedFor: ["203.0.113.7"], expected: "203.0.113.7"),
        Case(name: "spoofed entries left of the client are ignored", trusted: ["10.0.0.0/8"], peer: "10.0.0.5",
             forwardedFor: ["1.2.3.4, 203.0.113.7"], expected: "203.0.113.7"),
        Case(name: "a chain of trusted proxies is skipped", trusted: ["10.0.0.0/8", "192.168.1.1"], peer: "10.0.0.5",
             forwardedFor: ["1.2.3.4, 203.0.113.7, 192.168.1.1", "10.9.9.9"], expected: "203.0.113.7"),
        Case(name: "every hop trusted: the left-most", trusted: ["10.0.0.0/8"], peer: "10.0.0.5",
             forwardedFor: ["10.1.1.1,10.2.2.2"], expected: "10.1.1.1"),
        Case(name: "no header: the peer", trusted: ["10.0.0.0/8"], peer: "10.0.0.5", forwardedFor: [],
             expected: "10.0.0.5"),
        Case(name: "malformed last hop: the peer", trusted: ["10.0.0.0/8"], peer: "10.0.0.5",
             forwardedFor: ["203.0.113.7, not-an-address"], expected: "10.0.0.5"),
        Case(name: "malformed behind a good hop stops there", trusted: ["10.0.0.0/8"], peer: "10.0.0.5",
             forwardedFor: ["garbage, 203.0.113.7"], expected: "203.0.113.7"),
        Case(name: "IPv6 range and client", trusted: ["fd00::/8"], peer: "fd12::1",
             forwardedFor: ["2001:db8::42"], expected: "2001:db8::42"),
        Case(name: "IPv4-mapped IPv6 client is spelled as IPv4", trusted: ["127.0.0.1"], peer: "127.0.0.1",
             forwardedFor: ["::ffff:203.0.113.9"], expected: "203.0.113.9"),
        Case(name: "an upper-case IPv6 spelling is canonical", trusted: ["127.0.0.1"], peer: "127.0.0.1",
             forwardedFor: ["2001:DB8:0:0::42"], expected: "2001:db8::42"),
        Case(name: "/32 is one address", trusted: ["10.0.0.5/32"], peer: "10.0.0.6",
             forwardedFor: ["203.0.113.7"], expected: "10.0.0.6"),
        Case(name: "/0 trusts everybody", trusted: ["0.0.0.0/0"], peer: "198.51.100.1",
             forwardedFor: ["203.0.113.7"], expected: "203.0.113.7"),
    ]

    @Test(arguments: cases)
    func resolution(_ testCase: Case) throws {
        let ranges = try testCase.trusted.map { try #require(AddressRange($0), "\($0)") }
        let resolver = ClientAddressResolver(trustedProxies: ranges)
        #expect(resolver.clientAddress(peer: testCase.peer, forwardedFor: testCase.forwardedFor) == testCase.expected)
    }

    @Test(arguments: ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0/8", "example.com", "", "10.0.0.1/", "::1/129",
                      "012.1.1.1", "10.0.0.0/8x", "1", "10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.0/٨"])
    func malformedRangesAreRefused(_ text: String) {
        #expect(AddressRange(text) == nil)
    }

    @Test func rangesAreMaskedToTheirNetwork() throws {
        #expect(try #require(AddressRange("10.1.2.3/8")).description == "10.0.0.0/8")
        #expect(try #require(AddressRange("2001:db8::1/32")).description == "2001:db8::/32")
        #expect(try #require(AddressRange("127.0.0.1")).description == "127.0.0.1/32")
    }

    @Test func theFlagTakesAListAndRefusesAnythingElse() throws {
        let (configuration, _) = try ConfigurationLoader.load(
            arguments: ["--trusted-proxies", "10.0.0.0/8, fd00::/8 ,127.0.0.1"], environment: [:])
        #expect(configuration.trustedProxies.map(\.description) == ["10.0.0.0/8", "fd00::/8", "127.0.0.1/32"])
        #expect(throws: ConfigurationError.self) {
            _ = try ConfigurationLoader.load(arguments: ["--trusted-proxies", "10.0.0.0/8,lb.internal"], environment: [:])
        }
        let (fromEnvironment, _) = try ConfigurationLoader.load(
            arguments: [], environment: ["ATRIUM_TRUSTED_PROXIES": "192.168.0.0/16"])
        #expect(fromEnvironment.trustedProxies.map(\.description) == ["192.168.0.0/16"])
    }
}
