import Glibc

/// A numeric network address, kept as raw bytes so the SSRF policy can reason about ranges
/// without going through text again (text is where the attacker's spellings live).
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address in host byte order (127.0.0.1 is 0x7F00_0001).
    case v4(UInt32)
    /// An IPv6 address as its 16 bytes in network order.
    case v6([UInt8])

    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
        case .v6(let bytes):
            guard bytes.count == 16 else { return "<invalid IPv6>" }
            var storage = in6_addr()
            withUnsafeMutableBytes(of: &storage) { raw in
                for index in 0..<16 { raw[index] = bytes[index] }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &storage, &text, socklen_t(text.count)) != nil else {
                return "<invalid IPv6>"
            }
            return textOfCBuffer(text)
        }
    }

    /// The IPv4 address carried in the last four bytes of an IPv6 address.
    static func embeddedV4(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
