import AtriumAuth
import AtriumStore

/// Plan features that gate requests (api.md §5 "Limits and features"), decided by the plan
/// of the workspace's owner. The pipeline applies the `api_keys` gate to every workspace it
/// admits a key into; handlers apply the others where an operation needs them.
enum FeatureGate {
    /// A request made with an API key into a workspace whose owner's plan lacks `api_keys`
    /// is `403 FEATURE_UNAVAILABLE`. Skipped entirely when every plan has the feature.
    static func requireKeysAllowed(for principal: Principal, in workspaces: [ResolvedWorkspace],
                                   services: Services, reader: StoreReader) throws {
        guard principal.apiKey != nil else { return }
        for workspace in workspaces {
            try require(.apiKeys, in: workspace.workspaceID, services: services, reader: reader)
        }
    }

    /// An account-level request (no workspace) made with a key: the key must be usable in at
    /// least one workspace it reaches, else `403 FEATURE_UNAVAILABLE` (docs/decisions.md).
    /// A `workspace` key reaches exactly its own.
    static func requireKeysAllowedSomewhere(for principal: Principal, services: Services,
                                            reader: StoreReader) throws {
        guard let key = principal.apiKey, !services.plans.everyPlanHas(.apiKeys) else { return }
        let reachable: [Int64]
        if key.mode == .workspace {
            reachable = key.workspaceID.map { [$0] } ?? []
        } else {
            reachable = try reader.memberships(userID: principal.userID).map(\.workspaceID).filter(key.admits)
        }
        for workspaceID in reachable where try allows(.apiKeys, in: workspaceID, services: services, reader: reader) {
            return
        }
        throw APIError.featureUnavailable(PlanFeature.apiKeys.rawValue)
    }

    static func require(_ feature: PlanFeature, in workspaceID: Int64, services: Services, reader: StoreReader) throws {
        guard try allows(feature, in: workspaceID, services: services, reader: reader) else {
            throw APIError.featureUnavailable(feature.rawValue)
        }
    }

    static func allows(_ feature: PlanFeature, in workspaceID: Int64, services: Services,
                       reader: StoreReader) throws -> Bool {
        guard !services.plans.everyPlanHas(feature) else { return true }
        let plan = services.plans.plan(named: try reader.ownerPlan(workspaceID: workspaceID)?.plan)
        return plan.features.contains(feature)
    }

    /// The plan that governs a workspace: its owner's.
    static func ownerPlan(of workspaceID: Int64, services: Services, reader: StoreReader) throws -> (Int64, Plan) {
        guard let owner = try reader.ownerPlan(workspaceID: workspaceID) else { throw APIError.crossTenant }
        return (owner.ownerID, services.plans.plan(named: owner.plan))
    }
}
