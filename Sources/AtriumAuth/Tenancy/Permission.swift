// The value enums (Role, APIKeyMode, …) are AtriumModel's; re-exported so that code using
// tenancy rules sees them without a second import.
@_exported import AtriumModel

/// The rights of api.md §5. A set of them is a bit set, so intersecting a role's rights with
/// a key's is one AND, with no allocation on the request path.
public struct PermissionSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let workspaceRead = PermissionSet(rawValue: 1 << 0)
    public static let membersRead = PermissionSet(rawValue: 1 << 1)
    public static let contentRead = PermissionSet(rawValue: 1 << 2)
    public static let contentWrite = PermissionSet(rawValue: 1 << 3)
    public static let workspaceUpdate = PermissionSet(rawValue: 1 << 4)
    public static let membersInvite = PermissionSet(rawValue: 1 << 5)
    public static let membersUpdateRoles = PermissionSet(rawValue: 1 << 6)
    public static let membersRemove = PermissionSet(rawValue: 1 << 7)
    public static let apiKeysRead = PermissionSet(rawValue: 1 << 8)
    public static let apiKeysWrite = PermissionSet(rawValue: 1 << 9)
    public static let webhooksRead = PermissionSet(rawValue: 1 << 10)
    public static let webhooksWrite = PermissionSet(rawValue: 1 << 11)
    public static let auditRead = PermissionSet(rawValue: 1 << 12)
    public static let billingRead = PermissionSet(rawValue: 1 << 13)
    public static let workspaceDelete = PermissionSet(rawValue: 1 << 14)
    public static let ownershipTransfer = PermissionSet(rawValue: 1 << 15)

    /// Every permission, by its name in the contract, in the contract's order.
    public static let named: [(name: String, permission: PermissionSet)] = [
        ("workspace:read", .workspaceRead), ("members:read", .membersRead), ("content:read", .contentRead),
        ("content:write", .contentWrite), ("workspace:update", .workspaceUpdate),
        ("members:invite", .membersInvite), ("members:update_roles", .membersUpdateRoles),
        ("members:remove", .membersRemove), ("api_keys:read", .apiKeysRead), ("api_keys:write", .apiKeysWrite),
        ("webhooks:read", .webhooksRead), ("webhooks:write", .webhooksWrite), ("audit:read", .auditRead),
        ("billing:read", .billingRead), ("workspace:delete", .workspaceDelete),
        ("ownership:transfer", .ownershipTransfer),
    ]

    public static let all: PermissionSet = named.reduce(into: []) { $0.formUnion($1.permission) }

    /// The set named by contract names; nil if one name is unknown.
    public init?(names: [String]) {
        var set: PermissionSet = []
        for name in names {
            guard let entry = Self.named.first(where: { $0.name == name }) else { return nil }
            set.formUnion(entry.permission)
        }
        self = set
    }

    /// Contract names of the members, in the contract's order.
    public var names: [String] {
        Self.named.filter { contains($0.permission) }.map(\.name)
    }
}

/// The one table (api.md §5) that maps roles to rights.
extension Role {
    public var permissions: PermissionSet {
        switch self {
        case .viewer:
            return [.workspaceRead, .membersRead, .contentRead]
        case .editor:
            return Role.viewer.permissions.union(.contentWrite)
        case .admin:
            return Role.editor.permissions.union([
                .workspaceUpdate, .membersInvite, .membersUpdateRoles, .membersRemove, .apiKeysRead,
                .apiKeysWrite, .webhooksRead, .webhooksWrite, .auditRead, .billingRead,
            ])
        case .owner:
            return .all
        }
    }
}
