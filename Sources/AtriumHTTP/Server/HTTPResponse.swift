/// What a handler answers. The server adds the framing headers itself (`Date`,
/// `Content-Length`, `Connection`, `X-Request-ID`), so handlers set only their own.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Extra header fields, in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Sent as `Content-Type` when the body is not empty.
    public var contentType: String
    /// Fields the access log line carries beside the server's own (for example the
    /// resolved tenant and the caller), as already-escaped JSON fragments `"key":value`.
    public var logFields: [UInt8]
    /// Set for a streaming response: `body` is its first chunk (possibly empty) and the rest
    /// is pushed through the `HTTPStream` that `stream.opened` receives.
    public var stream: HTTPStreamStart?

    public init(
        status: Int,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        contentType: String = "application/json"
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.contentType = contentType
        self.logFields = []
        self.stream = nil
    }
}

/// How the server renders an error it produces itself (a framing error, no route, wrong
/// method, overload) so that it matches the application's error envelope.
public typealias HTTPErrorRenderer =
    @Sendable (_ code: ErrorCode, _ message: String, _ requestID: String) -> [UInt8]
