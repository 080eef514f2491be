/// A member's role in a workspace (api.md §5), as stored and as sent.
///
/// It lives below the store so rows decode it once, at the store boundary: an unknown stored
/// value is an error there, never a silent `viewer`. What a role may do is AtriumAuth's
/// business (`Role.permissions`).
public enum Role: String, Sendable, CaseIterable, Comparable {
    case owner, admin, editor, viewer

    private var rank: Int {
        switch self {
        case .owner: return 3
        case .admin: return 2
        case .editor: return 1
        case .viewer: return 0
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
