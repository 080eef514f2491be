/// What an API key reaches (api.md §2), as stored and as sent; decoded once by the store.
public enum APIKeyMode: String, Sendable, CaseIterable {
    /// Exactly one workspace, fixed at creation; workspace headers and queries are ignored.
    case workspace
    /// Every live workspace its user belongs to, including ones joined later.
    case full
    /// Its user's memberships intersected with an allow-list.
    case scoped
}
