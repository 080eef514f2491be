/// A request method, validated once as an RFC 9110 token.
///
/// A struct rather than an enum so custom methods still fit (the router answers them with 405
/// or 501), and validated at construction so nothing downstream re-checks it. Methods are
/// case-sensitive: `get` is not `GET`.
public struct HTTPMethod: Hashable, Sendable, CustomStringConvertible {
    /// The method as sent, a non-empty token.
    public let rawValue: String

    /// Returns nil unless `token` is a non-empty RFC 9110 token.
    public init?(token: String) {
        guard !token.isEmpty, token.utf8.allSatisfy(HTTPBytes.isTokenByte) else { return nil }
        self.rawValue = token
    }

    /// For callers that already validated the token (the parser, the constants below).
    init(validatedToken: String) {
        self.rawValue = validatedToken
    }

    public static let get = HTTPMethod(validatedToken: "GET")
    public static let head = HTTPMethod(validatedToken: "HEAD")
    public static let post = HTTPMethod(validatedToken: "POST")
    public static let put = HTTPMethod(validatedToken: "PUT")
    public static let patch = HTTPMethod(validatedToken: "PATCH")
    public static let delete = HTTPMethod(validatedToken: "DELETE")
    public static let options = HTTPMethod(validatedToken: "OPTIONS")
    public static let trace = HTTPMethod(validatedToken: "TRACE")
    public static let connect = HTTPMethod(validatedToken: "CONNECT")

    public var description: String { rawValue }
}
