import AtriumOutbound

/// The creation-time check of an endpoint URL (docs/webhooks.md): the URL must parse, and
/// unless private targets are allowed its host must not be a literal non-public address in
/// any spelling, nor `localhost`. DNS names are checked again, resolved, at every attempt.
public enum WebhookTargetPolicy {
    /// Why `text` cannot be an endpoint URL, or nil when it can.
    public static func problem(with text: String, allowPrivate: Bool) -> String? {
        guard let url = WebhookURL.parse(text) else {
            return "must be an absolute http:// or https:// URL without user info or fragment, at most 2048 bytes"
        }
        guard !allowPrivate else { return nil }
        if let address = url.literalAddress {
            return AddressPolicy.isForbidden(address) ? forbidden : nil
        }
        var host = url.host.lowercased()
        while host.hasSuffix(".") { host.removeLast() }
        if host.isEmpty || host == "localhost" || host.hasSuffix(".localhost") { return forbidden }
        return nil
    }

    static let forbidden = "must not point at a loopback, private, link-local or otherwise non-public address"
}
