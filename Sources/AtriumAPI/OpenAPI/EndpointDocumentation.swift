import AtriumHTTP

/// What the OpenAPI document says about an endpoint, kept as a named value beside its
/// declaration. Parameters that follow from the endpoint's admission (`X-Workspace-ID`,
/// `workspace_id`, `workspaces`, path parameters) and the errors every route of its kind
/// shares are added by `OpenAPIDocument`, so a declaration lists only what is its own.
public struct EndpointDocumentation: Sendable {
    public var summary: String
    /// The success status (200, 201, 204).
    public var successStatus: Int
    /// Error codes this endpoint can answer with beyond the ones its admission implies.
    public var errors: [ErrorCode]
    /// A stable name for SDKs and links.
    public var operationID: String
    /// The JSON body it takes, if any.
    public var request: Schema?
    /// The JSON body of its success answer (nil for 204 or a non-JSON answer).
    public var response: Schema?
    /// The media type of a non-JSON success answer (`/metrics`).
    public var responseMediaType: String?
    /// Query parameters and headers it reads beyond its admission's.
    public var parameters: [Parameter]
    /// A cursor-paginated list: takes `limit` and `cursor`.
    public var paginated: Bool
    /// Operations its answer feeds.
    public var links: [OperationLink]

    public init(_ operationID: String, _ summary: String, success: Int = 200, errors: [ErrorCode] = [],
                request: Schema? = nil, response: Schema? = nil, responseMediaType: String? = nil,
                parameters: [Parameter] = [], paginated: Bool = false, links: [OperationLink] = []) {
        self.summary = summary
        self.successStatus = success
        self.errors = errors
        self.operationID = operationID
        self.request = request
        self.response = response
        self.responseMediaType = responseMediaType
        self.parameters = parameters
        self.paginated = paginated
        self.links = links
    }
}
