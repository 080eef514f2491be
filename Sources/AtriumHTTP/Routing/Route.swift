/// A method and a path template bound to a handler, plus the description other tools (the
/// OpenAPI document) read from the same table the server runs.
public struct Route: Sendable {
    public let method: HTTPMethod
    /// `/v1/records/{id}`: literal segments and `{name}` parameters.
    public let template: String
    public let handler: any HTTPHandler
    public let placement: HandlerPlacement
    /// Free-form documentation attached by the application (opaque to the server).
    public let documentation: (any Sendable)?
    /// Position in the router's table, used to index per-route metrics.
    public internal(set) var index: Int = 0

    public init(
        method: HTTPMethod, template: String, placement: HandlerPlacement = .workerPool,
        documentation: (any Sendable)? = nil, handler: any HTTPHandler
    ) {
        self.method = method
        self.template = template
        self.handler = handler
        self.placement = placement
        self.documentation = documentation
    }
}
