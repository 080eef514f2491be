import AtriumAuth
import AtriumHTTP
import AtriumStore

/// One operation of the contract, declared once: its route, who may call it, which
/// workspace it acts in and with which permission, and its handler. The router, the
/// request pipeline and the OpenAPI document are all built from these declarations.
public struct Endpoint: Sendable {
    /// Who may call (api.md §2, §4).
    public enum Access: Sendable {
        /// No credential needed.
        case open
        /// Any valid credential (JWT or API key).
        case anyCredential
        /// JWT sessions only; API keys get 403 SESSION_REQUIRED (the **S** of the contract).
        case session
    }

    /// Which workspace the operation acts in before its handler runs (api.md §3).
    public enum Scope: Sendable {
        /// Not workspace-scoped.
        case none
        /// A call on one row: the handler resolves the row's workspace (`authorizeRow`); the
        /// pipeline checks the selector's syntax first.
        case row
        /// The workspace named by `X-Workspace-ID`/`workspace_id`, or the main one.
        case selected(PermissionSet)
        /// The workspace named by a path parameter.
        case path(parameter: String, PermissionSet)
        /// Like `selected`, unless the query names a fan-out (`workspaces=all` or a list):
        /// then every workspace of the list (api.md §6).
        case selectedOrFanOut(PermissionSet)
    }

    /// Where the handler runs.
    public enum Work: Sendable {
        case eventLoop
        case store
        /// Password hashing: its own small pool.
        case passwordHashing
    }

    public let method: HTTPMethod
    public let path: String
    public let access: Access
    public let scope: Scope
    public let work: Work
    public let documentation: EndpointDocumentation
    public let handler: @Sendable (inout APIRequest) throws -> HTTPResponse
    /// For endpoints that only read: runs inside the same read snapshot as authentication
    /// and resolution (one read transaction per request instead of two).
    public let readHandler: (@Sendable (inout APIRequest, StoreReader) throws -> HTTPResponse)?
    /// For endpoints whose work is one store write: checks the request on a worker and
    /// returns the write, which the pipeline commits without keeping the worker waiting.
    public let writeHandler: (@Sendable (inout APIRequest) throws -> StoreWrite)?

    private init(_ method: HTTPMethod, _ path: String, access: Access, scope: Scope, work: Work,
                 documentation: EndpointDocumentation,
                 handler: @escaping @Sendable (inout APIRequest) throws -> HTTPResponse,
                 readHandler: (@Sendable (inout APIRequest, StoreReader) throws -> HTTPResponse)?,
                 writeHandler: (@Sendable (inout APIRequest) throws -> StoreWrite)?) {
        self.method = method
        self.path = path
        self.access = access
        self.scope = scope
        self.work = work
        self.documentation = documentation
        self.handler = handler
        self.readHandler = readHandler
        self.writeHandler = writeHandler
    }

    /// The handler of an endpoint declared with `reading:` or `writing:`, which the pipeline
    /// never calls.
    private static let unused: @Sendable (inout APIRequest) throws -> HTTPResponse = { _ in throw APIError.internalError }

    /// An endpoint that only reads the store.
    public init(_ method: HTTPMethod, _ path: String, access: Access, scope: Scope = .none,
                documentation: EndpointDocumentation,
                reading: @escaping @Sendable (inout APIRequest, StoreReader) throws -> HTTPResponse) {
        self.init(method, path, access: access, scope: scope, work: .store, documentation: documentation,
                  handler: Self.unused, readHandler: reading, writeHandler: nil)
    }

    /// An endpoint whose work is one store write, prepared by `writing` (see `StoreWrite`).
    public init(_ method: HTTPMethod, _ path: String, access: Access, scope: Scope = .none,
                documentation: EndpointDocumentation,
                writing: @escaping @Sendable (inout APIRequest) throws -> StoreWrite) {
        self.init(method, path, access: access, scope: scope, work: .store, documentation: documentation,
                  handler: Self.unused, readHandler: nil, writeHandler: writing)
    }

    public init(_ method: HTTPMethod, _ path: String, access: Access, scope: Scope = .none, work: Work = .store,
                documentation: EndpointDocumentation,
                handler: @escaping @Sendable (inout APIRequest) throws -> HTTPResponse) {
        self.init(method, path, access: access, scope: scope, work: work, documentation: documentation,
                  handler: handler, readHandler: nil, writeHandler: nil)
    }
}

/// The store half of a write endpoint: a body for the writer's next group commit that
/// answers the request itself.
///
/// It exists so that a worker does not sleep through the commit: the worker authenticates,
/// resolves and validates, hands this body to the writer and goes on to the next request;
/// the writer runs the body, commits, and the response goes straight back to the connection.
public struct StoreWrite: Sendable {
    /// What a committed body answers.
    public struct Outcome: Sendable {
        public var response: HTTPResponse
        /// The workspace the write acted in, when the body resolved it (calls on one row);
        /// nil keeps the one the pipeline resolved before.
        public var workspace: ResolvedWorkspace?

        public init(_ response: HTTPResponse, workspace: ResolvedWorkspace? = nil) {
            self.response = response
            self.workspace = workspace
        }
    }

    /// Runs on the writer thread inside the request's savepoint; a thrown error undoes the
    /// body's changes and is answered in the contract's envelope.
    public let body: @Sendable (StoreWriter) throws -> Outcome

    public init(_ body: @escaping @Sendable (StoreWriter) throws -> Outcome) {
        self.body = body
    }
}

/// What the OpenAPI document says about an endpoint, kept beside its declaration. Parameters
/// that follow from the endpoint's scope (`X-Workspace-ID`, `workspace_id`, `workspaces`, path
/// parameters) and the errors every route shares are added by `OpenAPIDocument`.
public struct EndpointDocumentation: Sendable {
    public var summary: String
    /// The success status (200, 201, 204).
    public var successStatus: Int
    /// Contract error codes this endpoint can answer with, beyond the ones every route shares.
    public var errors: [String]
    /// A stable name for SDKs and links; derived from the method and path when nil.
    public var operationID: String?
    /// The JSON body it takes, if any.
    public var request: Schema?
    /// The JSON body of its success answer (nil for 204 or a non-JSON answer).
    public var response: Schema?
    /// The media type of a non-JSON success answer (`/metrics`).
    public var responseMediaType: String?
    /// Query parameters and headers it reads beyond its scope's.
    public var parameters: [Parameter]
    /// A cursor-paginated list: takes `limit` and `cursor`.
    public var paginated: Bool
    /// Operations its answer feeds.
    public var links: [OperationLink]

    public init(_ summary: String, success: Int = 200, errors: [String] = [], operationID: String? = nil,
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
