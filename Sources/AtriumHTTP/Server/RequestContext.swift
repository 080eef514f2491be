/// What the server knows about a request beyond its bytes: which route matched, the values
/// of its path parameters, who is on the other end, and the request's id.
public struct RequestContext: Sendable {
    /// The id echoed or generated for `X-Request-ID`.
    public let requestID: String
    /// The matched route's template, e.g. `/v1/records/{id}` (for logs and metrics).
    public let routeTemplate: String
    /// Path parameters, percent-decoded, in template order.
    public let parameters: [(name: String, value: String)]
    /// The peer's numeric address.
    public let clientAddress: String

    public init(
        requestID: String, routeTemplate: String,
        parameters: [(name: String, value: String)], clientAddress: String
    ) {
        self.requestID = requestID
        self.routeTemplate = routeTemplate
        self.parameters = parameters
        self.clientAddress = clientAddress
    }

    /// The value of the path parameter `name`, if the route has one.
    public func parameter(_ name: String) -> String? {
        for entry in parameters where entry.name == name { return entry.value }
        return nil
    }
}
