import AtriumAuth
import AtriumHTTP
import AtriumStore

/// What every handler can read of its request, whatever its admission: the HTTP request, the
/// collaborators, the query and the request's clock. Handlers never parse credential or
/// workspace headers themselves; the pipeline hands them what it resolved.
public protocol IncomingRequest: Sendable {
    var http: HTTPRequest { get }
    var context: RequestContext { get }
    var services: Services { get }
    var query: QueryParameters { get }
    /// Milliseconds since the epoch, fixed for the whole request.
    var now: Int64 { get }
}

extension IncomingRequest {
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

    /// The client's address: the TCP peer, or what a trusted proxy says it forwarded. Worked
    /// out when asked (the login throttle and audited changes ask), not for every request.
    public var clientAddress: String {
        services.clientAddresses.clientAddress(
            peer: context.clientAddress, forwardedFor: http.headers.values("x-forwarded-for"))
    }
}

/// The request of an open endpoint: no credential was asked for, so there is no caller.
public struct OpenRequest: IncomingRequest {
    public let http: HTTPRequest
    public let context: RequestContext
    public let services: Services
    public let query: QueryParameters
    public let now: Int64
}

/// The scope of an account-level endpoint: it acts in no workspace.
public struct NoWorkspace: Sendable {}

/// What a list endpoint resolved: one workspace, or a fan-out over several (api.md §6).
public enum WorkspaceSet: Sendable {
    case one(ResolvedWorkspace)
    case fanOut([ResolvedWorkspace])

    /// Every workspace resolved: one, or the fan-out's.
    public var workspaces: [ResolvedWorkspace] {
        switch self {
        case .one(let workspace): return [workspace]
        case .fanOut(let all): return all
        }
    }

    /// The ids to read, ascending for a fan-out.
    public var ids: [Int64] {
        switch self {
        case .one(let workspace): return [workspace.workspaceID]
        case .fanOut(let all): return all.map(\.workspaceID)
        }
    }
}

/// The request of an admitted endpoint: who is calling (never optional here) and what its
/// admission resolved, typed by the admission (`NoWorkspace`, `ResolvedWorkspace`,
/// `WorkspaceSet`), so a handler cannot read a workspace its declaration does not guarantee.
public struct APIRequest<Scope: Sendable>: IncomingRequest {
    public let http: HTTPRequest
    public let context: RequestContext
    public let services: Services
    public let query: QueryParameters
    public let now: Int64
    /// The authenticated caller.
    public let principal: Principal
    /// The stored row of the API key that authenticated the request, if a key did.
    public let keyRow: APIKeyRow?
    /// The workspace-selecting inputs, for handlers that name a second workspace (PATCH /v1/me).
    public let selector: WorkspaceSelector
    /// What the admission resolved.
    public let scope: Scope

    /// Who is acting, for the audit log.
    public var actor: AuditActor {
        AuditActor(userID: principal.userID, credential: principal.isSession ? "jwt" : "api_key",
                   keyID: principal.apiKey?.keyID, ip: clientAddress)
    }

    /// The same request with what a later step resolved.
    func with<Other: Sendable>(_ scope: Other) -> APIRequest<Other> {
        APIRequest<Other>(http: http, context: context, services: services, query: query, now: now,
                          principal: principal, keyRow: keyRow, selector: selector, scope: scope)
    }
}

/// An account-level request.
public typealias AccountRequest = APIRequest<NoWorkspace>
/// A request acting in one resolved workspace.
public typealias WorkspaceRequest = APIRequest<ResolvedWorkspace>
/// A list request: one workspace or a fan-out.
public typealias ListRequest = APIRequest<WorkspaceSet>

extension APIRequest where Scope == ResolvedWorkspace {
    /// The workspace the request acts in, with the caller's role and rights there.
    public var workspace: ResolvedWorkspace { scope }
}
