/// What a verified API key grants, as loaded from the store for this request.
public struct APIKeyGrant: Sendable, Equatable {
    public let keyID: Int64
    public let mode: APIKeyMode
    /// The bound workspace of a `workspace` key.
    public let workspaceID: Int64?
    /// The allow-list of a `scoped` key, ascending.
    public let allowList: [Int64]
    /// The key's own permission limit; nil means "whatever the user's role allows".
    public let permissions: PermissionSet?

    public init(keyID: Int64, mode: APIKeyMode, workspaceID: Int64?, allowList: [Int64], permissions: PermissionSet?) {
        self.keyID = keyID
        self.mode = mode
        self.workspaceID = workspaceID
        self.allowList = allowList.sorted()
        self.permissions = permissions
    }

    /// Whether the allow-list (for `scoped`) or the binding (for `workspace`) admits `id`.
    public func admits(_ id: Int64) -> Bool {
        switch mode {
        case .full: return true
        case .workspace: return workspaceID == id
        case .scoped: return binarySearch(allowList, id)
        }
    }

    private func binarySearch(_ sorted: [Int64], _ value: Int64) -> Bool {
        var low = 0
        var high = sorted.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if sorted[mid] == value { return true }
            if sorted[mid] < value { low = mid + 1 } else { high = mid - 1 }
        }
        return false
    }
}

/// The authenticated caller of one request: a user, and the credential they used.
public struct Principal: Sendable, Equatable {
    /// How the caller proved who they are.
    public enum Credential: Sendable, Equatable {
        /// A JWT access token of session `sessionID`.
        case session(sessionID: Int64)
        case apiKey(APIKeyGrant)
    }

    public let userID: Int64
    public let credential: Credential

    public init(userID: Int64, credential: Credential) {
        self.userID = userID
        self.credential = credential
    }

    public var isSession: Bool {
        if case .session = credential { return true }
        return false
    }

    public var apiKey: APIKeyGrant? {
        if case .apiKey(let grant) = credential { return grant }
        return nil
    }

    /// Rights in a workspace where the user holds `role`: the role's, narrowed by the key.
    public func effectivePermissions(role: Role) -> PermissionSet {
        guard let limit = apiKey?.permissions else { return role.permissions }
        return role.permissions.intersection(limit)
    }
}
