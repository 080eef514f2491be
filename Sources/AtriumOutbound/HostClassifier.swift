import Glibc

/// Sorts URL host text into literal address, DNS name, or neither, following the WHATWG URL
/// host parser: a host whose last label is numeric is an IPv4 address in any of the
/// inet_aton spellings, or invalid; it is never handed to DNS as a name.
enum HostClassifier {
    enum Kind: Equatable {
        case literal(IPAddress)
        case name
        case invalid
    }

    static func classify(_ host: String) -> Kind {
        let bytes = Array(host.utf8)
        guard !bytes.isEmpty else { return .invalid }
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.count > 2, bytes.last == UInt8(ascii: "]") else { return .invalid }
            return parseV6(bytes[1..<(bytes.count - 1)])
        }
        if bytes.contains(UInt8(ascii: ":")) { return parseV6(bytes[...]) }
        return parseV4(bytes)
    }

    /// IPv6 through inet_pton after dropping a zone id ("%eth0" or URL-encoded "%25eth0").
    private static func parseV6(_ text: ArraySlice<UInt8>) -> Kind {
        var body = text
        if let percent = body.firstIndex(of: UInt8(ascii: "%")) {
            guard percent < body.endIndex - 1 else { return .invalid }
            body = body[body.startIndex..<percent]
        }
        guard !body.isEmpty, body.count <= 45 else { return .invalid }
        var cString = [CChar](repeating: 0, count: body.count + 1)
        for (index, byte) in body.enumerated() { cString[index] = CChar(bitPattern: byte) }
        var storage = in6_addr()
        guard inet_pton(AF_INET6, cString, &storage) == 1 else { return .invalid }
        let bytes = withUnsafeBytes(of: &storage) { Array($0) }
        return .literal(.v6(bytes))
    }

    /// IPv4 in 1 to 4 parts, each decimal, octal (leading 0) or hex (0x), the last part
    /// filling the remaining bytes: "127.1", "2130706433", "0x7f.1", "0177.0.0.1".
    private static func parseV4(_ bytes: [UInt8]) -> Kind {
        var text = bytes[...]
        if text.last == UInt8(ascii: ".") { text = text.dropLast() }
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard let last = parts.last, !last.isEmpty, endsInNumber(last) else { return .name }
        guard parts.count <= 4 else { return .invalid }
        var values: [UInt64] = []
        for part in parts {
            guard let value = parseNumber(part) else { return .invalid }
            values.append(value)
        }
        var address: UInt64 = 0
        for value in values.dropLast() {
            guard value <= 255 else { return .invalid }
            address = address << 8 | value
        }
        let remainingBits = UInt64(8 * (5 - values.count))
        guard let lastValue = values.last, lastValue < (UInt64(1) << remainingBits) else { return .invalid }
        address = address << remainingBits | lastValue
        return .literal(.v4(UInt32(truncatingIfNeeded: address)))
    }

    private static func endsInNumber(_ part: ArraySlice<UInt8>) -> Bool {
        if part.allSatisfy(isDigit) { return true }
        guard part.count >= 2, part[part.startIndex] == UInt8(ascii: "0"),
              part[part.startIndex + 1] | 0x20 == UInt8(ascii: "x") else { return false }
        return part.dropFirst(2).allSatisfy(isHexDigit)
    }

    /// One part; nil when it is not a number or exceeds 32 bits (no overflow possible: the
    /// running value is checked before each digit).
    private static func parseNumber(_ part: ArraySlice<UInt8>) -> UInt64? {
        guard !part.isEmpty else { return nil }
        var digits = part
        var radix: UInt64 = 10
        if digits.count >= 2, digits.first == UInt8(ascii: "0"),
           digits[digits.startIndex + 1] | 0x20 == UInt8(ascii: "x") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count >= 2, digits.first == UInt8(ascii: "0") {
            radix = 8
            digits = digits.dropFirst()
        }
        var value: UInt64 = 0
        for byte in digits {
            guard let digit = digitValue(byte), digit < radix else { return nil }
            value = value * radix + digit
            guard value <= 0xFFFF_FFFF else { return nil }
        }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isHexDigit(_ byte: UInt8) -> Bool { digitValue(byte).map { $0 < 16 } ?? false }

    private static func digitValue(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt64(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
