/// An invitation to join a workspace.
public struct InvitationRow: Sendable, Equatable {
    public let id: Int64
    public let workspaceID: Int64
    public let email: String
    public let role: Role
    /// `pending`, `accepted` or `revoked` as stored; `expired` is derived from `expiresAt`.
    public let status: InvitationStatus
    public let invitedBy: Int64
    public let expiresAt: Int64
    public let createdAt: Int64

    /// The status a client sees at `now`.
    public func visibleStatus(now: Int64) -> InvitationStatus {
        status == .pending && expiresAt <= now ? .expired : status
    }
}

/// A member of a workspace with their account's email and name.
public struct MemberRow: Sendable, Equatable {
    public let id: Int64
    public let workspaceID: Int64
    public let userID: Int64
    public let email: String
    public let name: String
    public let role: Role
    public let joinedAt: Int64
}

/// Who did something, for the audit log.
public struct AuditActor: Sendable, Equatable {
    public let userID: Int64?
    /// `jwt` or `api_key`.
    public let credential: String?
    public let keyID: Int64?
    public let ip: String?

    public init(userID: Int64?, credential: String?, keyID: Int64?, ip: String?) {
        self.userID = userID
        self.credential = credential
        self.keyID = keyID
        self.ip = ip
    }
}

/// One audit log entry; `target` is JSON text.
public struct AuditRow: Sendable, Equatable {
    public let id: Int64
    public let workspaceID: Int64
    public let action: String
    public let actor: AuditActor
    public let target: String
    public let createdAt: Int64
}

/// Counts for `GET /v1/workspaces/{id}/usage` and `GET /v1/account`.
public struct UsageRow: Sendable, Equatable {
    public var records: Int64 = 0
    public var members: Int64 = 0
    public var apiKeys: Int64 = 0
    public var webhooks: Int64 = 0
    public var requests30d: Int64 = 0
    public var storageBytes: Int64 = 0
    public init() {}
}
