import AtriumAuth
import AtriumHTTP
import AtriumStore

/// The typed context a handler receives: the request, who is calling, and the workspace the
/// resolution layer chose. Handlers never parse credential or workspace headers themselves.
public struct APIRequest {
    public let http: HTTPRequest
    public let context: RequestContext
    public let services: Services
    public let query: QueryParameters
    /// Milliseconds since the epoch, fixed for the whole request.
    public let now: Int64
    /// Set for every endpoint whose access is not `.open`.
    public internal(set) var principal: Principal?
    /// The stored row of the API key that authenticated the request, if a key did.
    public internal(set) var keyRow: APIKeyRow?
    /// Set for endpoints with a workspace scope (and by `authorizeRow`).
    public internal(set) var workspace: ResolvedWorkspace?
    /// Set for fan-out requests on `.selectedOrFanOut` endpoints: every workspace named.
    public internal(set) var fanOut: [ResolvedWorkspace]?
    public let selector: WorkspaceSelector

    init(http: HTTPRequest, context: RequestContext, services: Services, now: Int64) {
        self.http = http
        self.context = context
        self.services = services
        self.now = now
        let query = QueryParameters(http.query)
        self.query = query
        self.selector = WorkspaceSelector(
            headerValues: http.headers.values("x-workspace-id"),
            queryValues: query.values("workspace_id"),
            fanOutValues: query.values("workspaces"))
    }

    /// The client's address: the TCP peer, or what a trusted proxy says it forwarded. Worked
    /// out when asked (the login throttle and audited changes ask), not for every request.
    public var clientAddress: String {
        services.clientAddresses.clientAddress(
            peer: context.clientAddress, forwardedFor: http.headers.values("x-forwarded-for"))
    }

    /// The caller; only valid on endpoints that require a credential.
    public var caller: Principal {
        guard let principal else { preconditionFailure("endpoint declared .open but reads the caller") }
        return principal
    }

    /// The resolved workspace; only valid on workspace-scoped endpoints.
    public var resolved: ResolvedWorkspace {
        guard let workspace else { preconditionFailure("endpoint declared no scope but reads the workspace") }
        return workspace
    }

    /// The JSON object body, checked (415, 400 INVALID_JSON).
    public func body() throws(APIError) -> RequestBody {
        try RequestBody(http)
    }

    /// A positive integer path parameter, else 400 INVALID_PARAMETER.
    public func pathID(_ name: String) throws(APIError) -> Int64 {
        guard let text = context.parameter(name), let id = WorkspaceResolver.parseWorkspaceID(text) else {
            throw APIError.invalidParameter(name)
        }
        return id
    }

    /// For calls on one row: resolves the row's workspace (api.md §3) and records it.
    public mutating func authorizeRow(workspaceID: Int64, needs permission: PermissionSet, reader: StoreReader) throws {
        let resolved = try WorkspaceResolver.resolveRow(
            principal: caller, rowWorkspaceID: workspaceID, selector: selector, needs: permission,
            lookup: StoreTenancyLookup(reader: reader))
        if principal?.apiKey != nil {
            try FeatureGate.requireKeysAllowed(in: resolved.workspaceID, services: services, reader: reader)
        }
        workspace = resolved
    }

    /// Who is acting, for the audit log.
    public var actor: AuditActor {
        AuditActor(userID: principal?.userID, credential: principal.map { $0.isSession ? "jwt" : "api_key" },
                   keyID: principal?.apiKey?.keyID, ip: clientAddress)
    }
}
