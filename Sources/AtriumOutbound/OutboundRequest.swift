/// One HTTP request the client will send; the client adds Host, Content-Length and
/// Connection: close itself and drops caller headers with those names (and
/// Transfer-Encoding), so the framing is always the client's own.
public struct OutboundRequest: Sendable {
    public var url: WebhookURL
    public var method: String = "POST"
    /// Sent in order, after Host and before Content-Length / Connection.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(url: WebhookURL, headers: [(String, String)], body: [UInt8]) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}
