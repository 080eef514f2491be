import Glibc

/// An address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address), for the
/// proxies whose `X-Forwarded-For` Atrium believes.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    /// The network's bytes (4 or 16), already masked to `prefixLength`.
    let network: [UInt8]
    let prefixLength: Int

    /// Parses `address` or `address/prefix`; nil for anything else (no host names, no
    /// shorthand IPv4 spellings).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = AddressRange.parseAddress(String(parts[0])) else { return nil }
        let width = bytes.count * 8
        var prefix = width
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ ("0"..."9").contains($0) }),
                  let value = Int(digits), (0...width).contains(value) else { return nil }
            prefix = value
        }
        network = AddressRange.masked(bytes, prefix)
        prefixLength = prefix
    }

    /// True when `bytes` (from `parseAddress`) lies in the range.
    func contains(_ bytes: [UInt8]) -> Bool {
        bytes.count == network.count && AddressRange.masked(bytes, prefixLength) == network
    }

    public var description: String {
        "\(AddressRange.format(network))/\(prefixLength)"
    }

    /// The 4 or 16 bytes of a numeric IPv4 or IPv6 address (an IPv4-mapped IPv6 address gives
    /// its IPv4 bytes, as the server reports such peers); nil for anything else.
    static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return Array(bytes[12...])
        }
        return bytes
    }

    private static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        var result = bytes
        for index in result.indices {
            let bitsHere = max(0, min(8, prefix - index * 8))
            result[index] &= bitsHere == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsHere))
        }
        return result
    }

    /// The one spelling of an address's bytes (so `::FFFF:10.0.0.1` and `10.0.0.1` agree).
    static func format(_ bytes: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) != nil
        }
        guard ok, let end = text.firstIndex(of: 0) else { return "?" }
        return String(decoding: text[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Which address a request comes from, for the per-address login throttle and the audit log.
///
/// It exists because behind a load balancer every TCP peer is the balancer: throttling by
/// the peer would let one client's failed logins lock everybody out. When the peer is one of
/// `--trusted-proxies`, the client is the right-most `X-Forwarded-For` entry that is not itself
/// a trusted proxy (entries to its left were written by the client and prove nothing); any
/// other peer's `X-Forwarded-For` is ignored, so a client cannot choose its own address.
public struct ClientAddressResolver: Sendable {
    public let trustedProxies: [AddressRange]

    public init(trustedProxies: [AddressRange]) {
        self.trustedProxies = trustedProxies
    }

    /// The client address of a request from `peer` carrying these `X-Forwarded-For` values
    /// (read only when the peer is a trusted proxy).
    public func clientAddress(peer: String, forwardedFor: @autoclosure () -> [String]) -> String {
        guard !trustedProxies.isEmpty, isTrusted(peer) else { return peer }
        let hops = forwardedFor().flatMap { $0.split(separator: ",") }
            .map(\.trimmingSpaces)
        var client = peer
        for hop in hops.reversed() {
            guard AddressRange.parseAddress(hop) != nil else { break }  // malformed: stop trusting the chain
            client = hop
            if !isTrusted(hop) { break }
        }
        return AddressRange.parseAddress(client).map(AddressRange.format) ?? peer
    }

    private func isTrusted(_ address: String) -> Bool {
        guard let bytes = AddressRange.parseAddress(address) else { return false }
        return trustedProxies.contains { $0.contains(bytes) }
    }
}
