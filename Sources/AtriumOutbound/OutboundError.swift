/// Why a delivery attempt failed; `kind` drives retry decisions, `detail` goes to the
/// delivery log (it never contains request headers or the body, which may carry secrets).
public struct OutboundError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case invalidURL, dnsFailure, forbiddenAddress, connectFailed, timeout, tlsFailure, protocolError
    }

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind): \(detail)" }
}
