/// One operation of the OpenAPI document and the traits the runtime acts on; the generated
/// `Operations` lists them all.
public struct APIOperation: Sendable, Hashable {
    /// Who may call it (the document's `security`).
    public enum Auth: Sendable, Hashable {
        /// No credential (signup, login, refresh).
        case none
        /// An API key or a session.
        case any
        /// A session only; API keys get 403 SESSION_REQUIRED.
        case session
    }

    /// Where its workspace comes from, which decides whether `X-Workspace-ID` is sent.
    public enum Scope: Sendable, Hashable {
        /// No workspace, or one named in the path: never the header.
        case none
        /// The selected workspace: the call's, else the client's default.
        case selected
        /// A call on one row: the row's workspace; the header only when the call names one
        /// (a default naming another workspace would turn the row into a 404).
        case row
        /// A list that may fan out (`workspaces=`): like `selected` without it, never with it.
        case fanOutList
    }

    public let id: String
    public let method: String
    public let path: String
    public let auth: Auth
    public let scope: Scope
    public let paginated: Bool
    /// Takes `Idempotency-Key`: a create the SDK may repeat with the same key.
    public let idempotencyKey: Bool
    /// Takes `If-Match`.
    public let ifMatch: Bool

    public init(id: String, method: String, path: String, auth: Auth, scope: Scope, paginated: Bool,
                idempotencyKey: Bool, ifMatch: Bool) {
        self.id = id
        self.method = method
        self.path = path
        self.auth = auth
        self.scope = scope
        self.paginated = paginated
        self.idempotencyKey = idempotencyKey
        self.ifMatch = ifMatch
    }

    /// Safe to send again after an answer was lost: reads, PUT and DELETE, and creates that carry
    /// an `Idempotency-Key`. Refresh never is (a spent refresh token revokes the session).
    var repeatable: Bool {
        if id == "refresh" { return false }
        return method == "GET" || method == "PUT" || method == "DELETE" || idempotencyKey
    }
}
