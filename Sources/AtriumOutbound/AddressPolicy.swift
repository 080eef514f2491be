/// Decides whether an address may be the target of a webhook (SSRF guard).
///
/// Webhook URLs come from tenants, so a URL is attacker-chosen: without this guard a tenant
/// could make the server POST to its own loopback services, the cloud metadata endpoint
/// (169.254.169.254) or anything on the private network. The guard runs twice: on the URL's
/// literal host when a webhook is created, and on every resolved address at delivery time.
public enum AddressPolicy {
    /// Parses a host the way an attacker might spell it (dotted, integer "2130706433", octal
    /// "0177.0.0.1", hex "0x7f.1", short forms "127.1", IPv6 "[::1]", "[::ffff:127.0.0.1]",
    /// IPv4-mapped/compatible, zone ids) into a numeric address if it is a literal; nil for a
    /// DNS name (and for text that is neither, such as "1.2.3.999").
    public static func literalAddress(_ host: String) -> IPAddress? {
        if case .literal(let address) = HostClassifier.classify(host) { return address }
        return nil
    }

    /// True for loopback, private (10/8, 172.16/12, 192.168/16), link-local (169.254/16,
    /// fe80::/10), unique-local (fc00::/7), CGNAT 100.64/10, multicast, unspecified (0.0.0.0/8,
    /// ::), broadcast, reserved (240/4), documentation ranges, IPv4-mapped/translated forms of
    /// any of those, and 64:ff9b::/96 NAT64 of them.
    ///
    /// IPv6 is judged by allow-list: only global unicast (2000::/3) can pass, so ranges that
    /// IANA adds later outside it are refused by default.
    public static func isForbidden(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let value):
            return isForbiddenV4(value)
        case .v6(let bytes):
            guard bytes.count == 16 else { return true }
            return isForbiddenV6(bytes)
        }
    }

    /// IPv4 special-purpose ranges (RFC 6890 and successors) that are not globally reachable.
    private static let forbiddenV4: [(base: UInt32, prefix: UInt32)] = [
        (0x0000_0000, 8),   // 0.0.0.0/8 "this network", unspecified
        (0x0A00_0000, 8),   // 10.0.0.0/8 private
        (0x6440_0000, 10),  // 100.64.0.0/10 carrier-grade NAT
        (0x7F00_0000, 8),   // 127.0.0.0/8 loopback
        (0xA9FE_0000, 16),  // 169.254.0.0/16 link-local (cloud metadata)
        (0xAC10_0000, 12),  // 172.16.0.0/12 private
        (0xC000_0000, 24),  // 192.0.0.0/24 IETF protocol assignments
        (0xC000_0200, 24),  // 192.0.2.0/24 TEST-NET-1
        (0xC058_6300, 24),  // 192.88.99.0/24 6to4 relay anycast (deprecated)
        (0xC0A8_0000, 16),  // 192.168.0.0/16 private
        (0xC612_0000, 15),  // 198.18.0.0/15 benchmarking
        (0xC633_6400, 24),  // 198.51.100.0/24 TEST-NET-2
        (0xCB00_7100, 24),  // 203.0.113.0/24 TEST-NET-3
        (0xE000_0000, 4),   // 224.0.0.0/4 multicast
        (0xF000_0000, 4),   // 240.0.0.0/4 reserved, includes 255.255.255.255 broadcast
    ]

    private static func isForbiddenV4(_ value: UInt32) -> Bool {
        for range in forbiddenV4 {
            let mask: UInt32 = range.prefix == 0 ? 0 : ~UInt32(0) << (32 - range.prefix)
            if value & mask == range.base { return true }
        }
        return false
    }

    private static func isForbiddenV6(_ bytes: [UInt8]) -> Bool {
        let first12Zero = bytes[0..<12].allSatisfy { $0 == 0 }
        // ::/96 IPv4-compatible (also covers :: and ::1, which map to 0.0.0.0 and 0.0.0.1).
        if first12Zero { return isForbiddenV4(IPAddress.embeddedV4(bytes, at: 12)) }
        // ::ffff:0:0/96 IPv4-mapped.
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return isForbiddenV4(IPAddress.embeddedV4(bytes, at: 12))
        }
        // ::ffff:0:0:0/96 IPv4-translated (RFC 2765).
        if bytes[0..<8].allSatisfy({ $0 == 0 }) && bytes[8] == 0xFF && bytes[9] == 0xFF
            && bytes[10] == 0 && bytes[11] == 0 {
            return isForbiddenV4(IPAddress.embeddedV4(bytes, at: 12))
        }
        // 64:ff9b::/96 well-known NAT64 prefix: judge the IPv4 address it reaches.
        if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xFF && bytes[3] == 0x9B
            && bytes[4..<12].allSatisfy({ $0 == 0 }) {
            return isForbiddenV4(IPAddress.embeddedV4(bytes, at: 12))
        }
        // Everything outside global unicast 2000::/3 (multicast, link-local, unique-local,
        // site-local, discard-only, 64:ff9b:1::/48 local NAT64, reserved) is refused.
        if bytes[0] & 0xE0 != 0x20 { return true }
        // 2001::/23 IETF protocol assignments (Teredo, benchmarking, ORCHID...).
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] & 0xFE == 0x00 { return true }
        // 2001:db8::/32 documentation.
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return true }
        // 3fff::/20 documentation (RFC 9637).
        if bytes[0] == 0x3F && bytes[1] == 0xFF && bytes[2] & 0xF0 == 0x00 { return true }
        // 2002::/16 6to4: judge the IPv4 address it tunnels to.
        if bytes[0] == 0x20 && bytes[1] == 0x02 { return isForbiddenV4(IPAddress.embeddedV4(bytes, at: 2)) }
        return false
    }
}
