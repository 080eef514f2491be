/// An `error.code` of the contract together with the status it is always answered with.
///
/// It exists so that a code cannot be written with one status in one place and another
/// status (or another spelling) in the next: the event loop's own answers, the application's
/// errors and the OpenAPI document all name codes through this type, in the spirit of
/// swift-http-types' `HTTPResponse.Status`. Equality is by name; the status follows from it.
/// The HTTP layer declares the codes it answers itself; the application adds the rest in an
/// extension, and lists every code it can emit in one table that a test holds to the contract.
public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The wire spelling, e.g. `"NOT_FOUND"`.
    public let name: String
    /// The HTTP status this code is always answered with.
    public let status: Int

    public init(_ name: String, status: Int) {
        self.name = name
        self.status = status
    }

    public var description: String { name }

    public static func == (lhs: ErrorCode, rhs: ErrorCode) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    // The answers the HTTP layer gives by itself (framing, routing, timeouts, overload).
    public static let badRequest = ErrorCode("BAD_REQUEST", status: 400)
    public static let notFound = ErrorCode("NOT_FOUND", status: 404)
    public static let methodNotAllowed = ErrorCode("METHOD_NOT_ALLOWED", status: 405)
    public static let requestTimeout = ErrorCode("REQUEST_TIMEOUT", status: 408)
    public static let payloadTooLarge = ErrorCode("PAYLOAD_TOO_LARGE", status: 413)
    public static let uriTooLong = ErrorCode("URI_TOO_LONG", status: 414)
    public static let headersTooLarge = ErrorCode("HEADERS_TOO_LARGE", status: 431)
    public static let internalError = ErrorCode("INTERNAL", status: 500)
    public static let notImplemented = ErrorCode("NOT_IMPLEMENTED", status: 501)
    public static let unavailable = ErrorCode("UNAVAILABLE", status: 503)
    /// RFC 9110 §10.1.1: an `Expect` the server does not know. A protocol answer the contract's
    /// table does not list (docs/decisions.md).
    public static let expectationFailed = ErrorCode("EXPECTATION_FAILED", status: 417)
    /// RFC 9110 §15.6.6: a major version other than 1. A protocol answer like the one above.
    public static let httpVersionNotSupported = ErrorCode("HTTP_VERSION_NOT_SUPPORTED", status: 505)

    /// The codes the HTTP layer itself can answer with.
    public static let serverCodes: [ErrorCode] = [
        .badRequest, .notFound, .methodNotAllowed, .requestTimeout, .payloadTooLarge, .uriTooLong, .headersTooLarge,
        .internalError, .notImplemented, .unavailable, .expectationFailed, .httpVersionNotSupported,
    ]

    /// The code the request parser's refusal of a given status is answered with.
    public static func forParseStatus(_ status: Int) -> ErrorCode {
        serverCodes.first { $0.status == status && $0 != .notFound && $0 != .methodNotAllowed } ?? .badRequest
    }
}
