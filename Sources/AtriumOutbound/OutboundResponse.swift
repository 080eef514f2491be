/// What the receiver answered. The body is capped because the delivery log only keeps a
/// short excerpt and a hostile receiver must not be able to make us buffer gigabytes.
public struct OutboundResponse: Sendable {
    /// Bytes of body kept; the rest is not read.
    public static let bodyLimit = 64 * 1024

    public let status: Int
    /// In received order, names as sent.
    public let headers: [(String, String)]
    /// Capped at 64 KiB, rest discarded.
    public let body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, name compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.0.lowercased() == wanted }?.1
    }
}
