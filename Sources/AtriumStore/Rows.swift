/// A user account as stored.
public struct UserRow: Sendable, Equatable {
    public let id: Int64
    public let email: String
    public let name: String
    public let passwordHash: String
    public let mainWorkspaceID: Int64?
    public let plan: String?
    public let createdAt: Int64
    public let updatedAt: Int64
}

/// A workspace, with the role of the user it was loaded for (when loaded for one).
public struct WorkspaceRow: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let color: String?
    /// The metadata object as stored JSON text.
    public let metadata: String
    public let ownerID: Int64
    public let createdAt: Int64
    public let updatedAt: Int64
    /// The viewing user's role, when loaded through a membership.
    public let role: Role?
}

/// A login session; its access tokens carry its id.
public struct SessionRow: Sendable, Equatable {
    public let id: Int64
    public let userID: Int64
    public let refreshExpiresAt: Int64
    public let revokedAt: Int64?
}

/// An API key's stored facts (never its secret).
public struct APIKeyRow: Sendable, Equatable {
    public let id: Int64
    public let userID: Int64
    public let mode: APIKeyMode
    public let workspaceID: Int64?
    public let name: String
    public let prefix: String
    /// The permission names the key is limited to; nil = no limit beyond the user's role.
    public let permissions: [String]?
    public let expiresAt: Int64?
    public let lastUsedAt: Int64?
    public let createdAt: Int64
    /// The allow-list of a `scoped` key, ascending.
    public let workspaceIDs: [Int64]
}
