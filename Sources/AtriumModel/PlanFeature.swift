/// A feature a plan may grant (server.md "Plans"). Plans files are decoded into it once, at
/// start-up, so a misspelt feature stops the server instead of silently gating nothing.
public enum PlanFeature: String, Sendable, CaseIterable, Comparable {
    /// Creating and using API keys in the owner's workspaces.
    case apiKeys = "api_keys"
    /// Creating and changing webhook endpoints.
    case webhooks

    public static func < (lhs: PlanFeature, rhs: PlanFeature) -> Bool { lhs.rawValue < rhs.rawValue }
}
