/// A complete, validated request as the parser hands it to the router.
///
/// Plain stored properties so a handler reads them without parsing anything again: the target
/// is already split into path and query, the body is already de-chunked, and `keepAlive`
/// already folds the version and `Connection` rules together.
public struct HTTPRequest: Sendable, Equatable {
    public var method: HTTPMethod
    public var version: HTTPVersion
    /// The request-target exactly as sent.
    public var target: String
    /// The path part, still percent-encoded (from absolute-form: only the path; "*" for `OPTIONS *`).
    public var path: String
    /// The raw query without "?", nil when there is none.
    public var query: String?
    public var headers: HTTPFields
    /// The decoded body, empty when there is none.
    public var body: [UInt8]
    /// Whether the connection stays open after the response (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool

    public init(
        method: HTTPMethod,
        version: HTTPVersion,
        target: String,
        path: String,
        query: String?,
        headers: HTTPFields,
        body: [UInt8],
        keepAlive: Bool
    ) {
        self.method = method
        self.version = version
        self.target = target
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }
}
