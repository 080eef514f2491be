import AtriumStore

/// Plan features that gate requests (api.md §5 "Limits and features"), decided by the plan
/// of the workspace's owner.
enum FeatureGate {
    /// A request made with an API key into a workspace whose owner's plan lacks `api_keys`
    /// is `403 FEATURE_UNAVAILABLE`. Skipped entirely when every plan has the feature.
    static func requireKeysAllowed(in workspaceID: Int64, services: Services, reader: StoreReader) throws {
        try require(.apiKeys, in: workspaceID, services: services, reader: reader)
    }

    static func require(_ feature: PlanFeature, in workspaceID: Int64, services: Services, reader: StoreReader) throws {
        guard !services.plans.everyPlanHas(feature) else { return }
        let plan = services.plans.plan(named: try reader.ownerPlan(workspaceID: workspaceID)?.plan)
        guard plan.features.contains(feature) else { throw APIError.featureUnavailable(feature.rawValue) }
    }

    /// The plan that governs a workspace: its owner's.
    static func ownerPlan(of workspaceID: Int64, services: Services, reader: StoreReader) throws -> (Int64, Plan) {
        guard let owner = try reader.ownerPlan(workspaceID: workspaceID) else { throw APIError.crossTenant }
        return (owner.ownerID, services.plans.plan(named: owner.plan))
    }
}
