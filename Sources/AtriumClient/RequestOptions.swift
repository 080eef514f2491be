import Foundation

/// Which workspace a call acts in (api.md §3).
public enum WorkspaceSelection: Sendable, Equatable {
    /// `X-Workspace-ID: <id>`.
    case id(Int64)
    /// No header: the server resolves the caller's main workspace, whatever the client's default.
    case main
}

/// `workspaces=` on a fan-out list: every reachable workspace, or these.
public enum FanOut: Sendable, Equatable {
    case all
    case workspaces([Int64])

    var queryValue: String {
        switch self {
        case .all: "all"
        case .workspaces(let ids): ids.map(String.init).joined(separator: ",")
        }
    }
}

/// What one call may override of the client's defaults (stripe-python's RequestOptions).
public struct RequestOptions: Sendable {
    /// The workspace of this call; nil: the client's default where the contract reads one.
    public var workspace: WorkspaceSelection?
    /// The `Idempotency-Key` of a create; nil: the SDK makes one (reused on every attempt).
    public var idempotencyKey: String?
    /// `X-Request-ID` to send (1–128 of `[A-Za-z0-9._-]`).
    public var requestID: String?
    /// Retries after the first attempt; nil: the client's policy.
    public var maxRetries: Int?

    public init(workspace: WorkspaceSelection? = nil, idempotencyKey: String? = nil, requestID: String? = nil,
                maxRetries: Int? = nil) {
        self.workspace = workspace
        self.idempotencyKey = idempotencyKey
        self.requestID = requestID
        self.maxRetries = maxRetries
    }
}
