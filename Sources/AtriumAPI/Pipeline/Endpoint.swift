import AtriumAuth
import AtriumHTTP
import AtriumStore

/// One operation of the contract, declared once: its route, its admission (who may call, in
/// which workspace, with which permission) and its work. The router, the request pipeline and
/// the OpenAPI document are all built from these declarations.
///
/// The admission is one exhaustive value: each case carries the kind of work its scope can be
/// served with, typed by what the scope resolves, so a declaration that compiles can be
/// served (no optional handlers, no filler that answers 500).
public struct Endpoint: Sendable {
    public let method: HTTPMethod
    public let path: String
    public let admission: Admission
    public let documentation: EndpointDocumentation

    public init(_ method: HTTPMethod, _ path: String, _ admission: Admission, documentation: EndpointDocumentation) {
        self.method = method
        self.path = path
        self.admission = admission
        self.documentation = documentation
    }

    /// Which credentials an admitted endpoint takes (api.md §2, §4).
    public enum Credential: Sendable, Equatable {
        /// Any valid credential (JWT or API key).
        case any
        /// JWT sessions only; API keys get 403 SESSION_REQUIRED (the **S** of the contract).
        case session
    }

    /// Who may call and which workspace the operation acts in before its work runs (api.md §3),
    /// with the work itself.
    public enum Admission: Sendable {
        /// No credential needed; the handler gets the request alone.
        case open(OpenPlacement, @Sendable (OpenRequest) throws -> HTTPResponse)
        /// A credential, no workspace: account-level operations.
        case account(Credential, Work<NoWorkspace>)
        /// The workspace named by `X-Workspace-ID`/`workspace_id`, or the main one.
        case selected(Credential, PermissionSet, Work<ResolvedWorkspace>)
        /// The workspace named by a path parameter (`/v1/workspaces/{id}/…`).
        case path(Credential, parameter: String, PermissionSet, Work<ResolvedWorkspace>)
        /// Like `selected`, unless the query names a fan-out (`workspaces=all` or a list): then
        /// every workspace of the list (api.md §6). Lists only read.
        case list(Credential, PermissionSet, @Sendable (ListRequest, StoreReader) throws -> HTTPResponse)
        /// A call on one row: the workspace comes from the row (api.md §3, "Calls on one row"),
        /// resolved by the pipeline in the read snapshot or inside the writer's transaction.
        case row(Credential, RowScope, RowWork)
    }

    /// Where an open endpoint runs.
    public enum OpenPlacement: Sendable {
        /// On the event loop: never blocks (health, metrics, the document).
        case eventLoop
        /// On the worker pool: touches the store.
        case store
        /// Password hashing: its own small pool.
        case passwordHashing
    }

    /// The work of an endpoint whose workspace (or its absence) is known before it runs.
    public enum Work<Scope: Sendable>: Sendable {
        /// Reads only, inside the same read snapshot as authentication and resolution (one
        /// read transaction per request).
        case read(@Sendable (APIRequest<Scope>, StoreReader) throws -> HTTPResponse)
        /// One store write: the handler checks the request on a worker and returns the write,
        /// which the writer commits in its next group commit and answers without keeping the
        /// worker waiting.
        case write(@Sendable (APIRequest<Scope>) throws -> StoreWrite)
        /// Anything else: the handler answers itself (writes that block their worker, sign-in
        /// state, several transactions).
        case respond(@Sendable (APIRequest<Scope>) throws -> HTTPResponse)
    }

    /// The work of a call on one row.
    public enum RowWork: Sendable {
        /// Reads, in the snapshot in which the row's workspace was resolved.
        case read(@Sendable (WorkspaceRequest, StoreReader) throws -> HTTPResponse)
        /// One store write whose row is resolved inside the writer's transaction, so the row
        /// cannot move or vanish between the check and the change.
        case write(@Sendable (AccountRequest) throws -> RowWrite)
    }
}

/// How the pipeline finds the workspace of the row a call names, and what the call needs there.
public struct RowScope: Sendable {
    /// The path parameter holding the row's id (a positive integer, else 400 INVALID_PARAMETER).
    public let parameter: String
    /// The permission the caller needs in the row's workspace.
    public let permission: PermissionSet
    /// The workspace that owns the row with this id; nil when there is no such row (404).
    public let workspaceOf: @Sendable (StoreReader, Int64) throws -> Int64?

    public init(parameter: String = "id", needs permission: PermissionSet,
                workspaceOf: @escaping @Sendable (StoreReader, Int64) throws -> Int64?) {
        self.parameter = parameter
        self.permission = permission
        self.workspaceOf = workspaceOf
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
        /// Runs once the write is durable (a notification to the webhook dispatcher); never
        /// when the body failed.
        public var afterCommit: (@Sendable () -> Void)?
        /// The workspace a write on one row acted in, set by the pipeline that resolved it.
        public internal(set) var workspace: ResolvedWorkspace?
        /// The rate limit the write was counted against, set by the pipeline.
        var quota: RateLimiter.Quota?

        public init(_ response: HTTPResponse, afterCommit: (@Sendable () -> Void)? = nil) {
            self.response = response
            self.afterCommit = afterCommit
        }
    }

    /// Runs on the writer thread inside the request's savepoint; a thrown error undoes the
    /// body's changes and is answered in the contract's envelope.
    public let body: @Sendable (StoreWriter) throws -> Outcome

    public init(_ body: @escaping @Sendable (StoreWriter) throws -> Outcome) {
        self.body = body
    }
}

/// The store half of a write on one row: its body runs inside the writer's transaction after
/// the pipeline resolved the row's workspace there, and receives it.
public struct RowWrite: Sendable {
    public let body: @Sendable (StoreWriter, ResolvedWorkspace) throws -> StoreWrite.Outcome
    /// What the call does for a caller whom the row's workspace does not admit, declared
    /// beside the rule instead of decided in a handler: an invitee declining an invitation
    /// addressed to them. Nil when it does not apply either: the caller then gets the row
    /// rule's own answer (404, or 403 PERMISSION_DENIED for a member without the right).
    public let otherwise: (@Sendable (StoreWriter) throws -> StoreWrite.Outcome?)?

    public init(_ body: @escaping @Sendable (StoreWriter, ResolvedWorkspace) throws -> StoreWrite.Outcome,
                otherwise: (@Sendable (StoreWriter) throws -> StoreWrite.Outcome?)? = nil) {
        self.body = body
        self.otherwise = otherwise
    }
}

extension Endpoint {
    /// The credentials it takes; nil for an open endpoint.
    public var credential: Credential? {
        switch admission {
        case .open: return nil
        case .account(let credential, _), .selected(let credential, _, _), .path(let credential, _, _, _),
             .list(let credential, _, _), .row(let credential, _, _):
            return credential
        }
    }

    /// The row scope of a call on one row.
    public var rowScope: RowScope? {
        if case .row(_, let scope, _) = admission { return scope }
        return nil
    }

    /// True when the endpoint only reads (no work of it writes).
    public var isRead: Bool {
        switch admission {
        case .open: return false
        case .account(_, let work): return work.isRead
        case .selected(_, _, let work), .path(_, _, _, let work): return work.isRead
        case .list: return true
        case .row(_, _, let work):
            if case .read = work { return true }
            return false
        }
    }
}

extension Endpoint.Work {
    var isRead: Bool {
        if case .read = self { return true }
        return false
    }
}
