/// A URL accepted as a webhook target: http or https, a host, optional port, path+query; no
/// userinfo, no fragment.
///
/// The parser is deliberately narrower than a general URL parser: anything ambiguous
/// (credentials, fragments, spaces, non-ASCII, percent-encoded hosts, numeric hosts that are
/// not valid IPv4) is refused, so the host we check is the host we connect to.
public struct WebhookURL: Sendable, Equatable {
    /// "http" or "https", lower-cased.
    public let scheme: String
    /// Lower-cased DNS name, or a literal address in canonical form ("127.0.0.1", "::1"),
    /// IPv6 without brackets. Odd spellings such as "0x7f.1" are normalised here.
    public let host: String
    /// The explicit port, or 80/443 from the scheme.
    public let port: Int
    /// Starts with "/"; "/" when the URL has no path.
    public let pathAndQuery: String

    /// The literal address of `host`, nil for a DNS name.
    public var literalAddress: IPAddress? { AddressPolicy.literalAddress(host) }

    /// The value of the Host header: brackets around IPv6, port only when not the default.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? name : "\(name):\(port)"
    }

    var isHTTPS: Bool { scheme == "https" }
    private var defaultPort: Int { isHTTPS ? 443 : 80 }

    public static func parse(_ text: String) -> WebhookURL? {
        let bytes = Array(text.utf8)
        guard bytes.count <= 2048 else { return nil }
        // Printable ASCII only: no spaces, controls, non-ASCII; never a fragment.
        for byte in bytes
        where byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "#") || byte == UInt8(ascii: "\\") {
            return nil
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let scheme = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = bytes[(colon + 1)...]
        guard rest.starts(with: "//".utf8) else { return nil }
        let authorityStart = rest.startIndex + 2
        let authorityEnd = bytes[authorityStart...].firstIndex {
            $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?")
        } ?? bytes.endIndex
        let authority = bytes[authorityStart..<authorityEnd]
        guard !authority.contains(UInt8(ascii: "@")) else { return nil }

        var hostText: ArraySlice<UInt8>
        var portText: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostText = authority[authority.startIndex...close]
            let after = authority[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let portColon = authority.firstIndex(of: UInt8(ascii: ":")) {
            hostText = authority[authority.startIndex..<portColon]
            portText = authority[(portColon + 1)...]
        } else {
            hostText = authority
        }

        var port = scheme == "https" ? 443 : 80
        if let portText {
            guard !portText.isEmpty, portText.count <= 5,
                  portText.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let value = Int(String(decoding: portText, as: UTF8.self)),
                  (1...65535).contains(value) else { return nil }
            port = value
        }

        guard let host = canonicalHost(hostText) else { return nil }
        var path = String(decoding: bytes[authorityEnd...], as: UTF8.self)
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        return WebhookURL(scheme: scheme, host: host, port: port, pathAndQuery: path)
    }

    private static func canonicalHost(_ text: ArraySlice<UInt8>) -> String? {
        guard !text.isEmpty, text.count <= 253 + 2 else { return nil }
        let raw = String(decoding: text, as: UTF8.self)
        if text.first == UInt8(ascii: "[") {
            // Zone ids only make sense for link-local targets, which are never webhook targets.
            guard !text.contains(UInt8(ascii: "%")) else { return nil }
        }
        switch HostClassifier.classify(raw) {
        case .invalid:
            return nil
        case .literal(let address):
            if case .v6 = address, text.first != UInt8(ascii: "[") { return nil }
            return address.description
        case .name:
            let allowed = text.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
            }
            guard allowed, text.first != UInt8(ascii: "."),
                  !text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
                      .dropLast(text.last == UInt8(ascii: ".") ? 1 : 0)
                      .contains(where: { label in
                          label.isEmpty || label.count > 63
                              || label.first == UInt8(ascii: "-") || label.last == UInt8(ascii: "-")
                      }) else { return nil }
            return raw.lowercased()
        }
    }
}
