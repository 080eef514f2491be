/// Read access to the tenancy facts resolution needs. The store implements it; tests use a
/// table in memory. Every answer must come from shared state (never a per-process cache that
/// a revocation cannot reach), so a revoked right fails on the very next request.
public protocol TenancyLookup {
    /// The user's role in `workspaceID`; nil when the workspace does not exist, is deleted,
    /// or the user is not a member.
    func role(userID: Int64, workspaceID: Int64) throws -> Role?
    /// The user's main workspace, when it is live and the user is still its member.
    func mainWorkspace(userID: Int64) throws -> Int64?
    /// Every live workspace the user belongs to, ascending by id.
    func memberships(userID: Int64) throws -> [(workspaceID: Int64, role: Role)]
}

/// The workspace-selecting inputs of one request, as raw text (api.md §3).
public struct WorkspaceSelector: Sendable, Equatable {
    /// Every `X-Workspace-ID` field value (already stripped of surrounding whitespace).
    public var headerValues: [String]
    /// Every `workspace_id` query value (percent-decoded).
    public var queryValues: [String]
    /// Every `workspaces` query value (percent-decoded), for fan-out lists.
    public var fanOutValues: [String]

    public init(headerValues: [String] = [], queryValues: [String] = [], fanOutValues: [String] = []) {
        self.headerValues = headerValues
        self.queryValues = queryValues
        self.fanOutValues = fanOutValues
    }
}

/// Why a request did not resolve to a workspace; the API maps each to its status and code.
public enum ResolutionFailure: Error, Sendable, Equatable {
    case invalidWorkspaceHeader      // 400 INVALID_WORKSPACE_HEADER
    case invalidWorkspaceID          // 400 INVALID_WORKSPACE_ID
    case workspaceMismatch           // 400 WORKSPACE_MISMATCH
    case workspaceRequired           // 400 WORKSPACE_REQUIRED
    case noMainWorkspace             // 403 NO_MAIN_WORKSPACE
    case crossTenant                 // 403 CROSS_TENANT_WORKSPACE
    case permissionDenied            // 403 PERMISSION_DENIED
    case notFound                    // 404 NOT_FOUND (calls on one row)
}

/// The workspace a request acts in, the caller's role there, and their effective rights.
public struct ResolvedWorkspace: Sendable, Equatable {
    public let workspaceID: Int64
    public let role: Role
    public let permissions: PermissionSet

    public init(workspaceID: Int64, role: Role, permissions: PermissionSet) {
        self.workspaceID = workspaceID
        self.role = role
        self.permissions = permissions
    }
}

/// The one place that decides which workspace a request acts in (api.md §3). Every
/// workspace-scoped route goes through one of its entry points; handlers never read the
/// workspace header or query themselves.
public enum WorkspaceResolver {
    /// api.md §3 rule 2 syntax: ASCII digits, no sign, no leading zero, fits in Int64, > 0.
    public static func parseWorkspaceID(_ text: String) -> Int64? {
        let utf8 = text.utf8
        guard let first = utf8.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9"), utf8.count <= 19 else {
            return nil
        }
        var value: Int64 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            if overflowA || overflowB { return nil }
            value = sum
        }
        return value
    }

    /// The workspace named by header and query (rule 2 syntax and mismatch), or nil if neither.
    public static func explicitSelection(_ selector: WorkspaceSelector) throws(ResolutionFailure) -> Int64? {
        var fromHeader: Int64?
        if !selector.headerValues.isEmpty {
            guard selector.headerValues.count == 1, let id = parseWorkspaceID(selector.headerValues[0]) else {
                throw .invalidWorkspaceHeader
            }
            fromHeader = id
        }
        var fromQuery: Int64?
        if !selector.queryValues.isEmpty {
            guard selector.queryValues.count == 1, let id = parseWorkspaceID(selector.queryValues[0]) else {
                throw .invalidWorkspaceID
            }
            fromQuery = id
        }
        if let fromHeader, let fromQuery, fromHeader != fromQuery { throw .workspaceMismatch }
        return fromHeader ?? fromQuery
    }

    /// Rules 1–3 for a workspace-scoped route without a workspace in its path, then rule 4.
    public static func resolve(
        principal: Principal, selector: WorkspaceSelector, requireWorkspace: Bool,
        needs permission: PermissionSet, lookup: some TenancyLookup
    ) throws -> ResolvedWorkspace {
        let target: Int64
        if let key = principal.apiKey, key.mode == .workspace {
            guard let bound = key.workspaceID else { throw ResolutionFailure.crossTenant }
            target = bound
        } else if let explicit = try explicitSelection(selector) {
            target = explicit
        } else {
            if requireWorkspace { throw ResolutionFailure.workspaceRequired }
            guard let main = try lookup.mainWorkspace(userID: principal.userID) else {
                throw ResolutionFailure.noMainWorkspace
            }
            if let key = principal.apiKey, !key.admits(main) { throw ResolutionFailure.workspaceRequired }
            target = main
        }
        return try reach(principal: principal, workspaceID: target, needs: permission, lookup: lookup)
    }

    /// A route with the workspace in its path (`/v1/workspaces/{id}/…`).
    public static func resolvePath(
        principal: Principal, pathValue: String, selector: WorkspaceSelector,
        needs permission: PermissionSet, lookup: some TenancyLookup
    ) throws -> ResolvedWorkspace {
        guard let target = parseWorkspaceID(pathValue) else { throw ResolutionFailure.invalidWorkspaceID }
        if let key = principal.apiKey, key.mode == .workspace {
            guard key.workspaceID == target else { throw ResolutionFailure.crossTenant }
        } else if let explicit = try explicitSelection(selector), explicit != target {
            throw ResolutionFailure.workspaceMismatch
        }
        return try reach(principal: principal, workspaceID: target, needs: permission, lookup: lookup)
    }

    /// A call on one row: the workspace comes from the row; anything the caller cannot
    /// reach, or a different workspace named by header or query, is `notFound`.
    public static func resolveRow(
        principal: Principal, rowWorkspaceID: Int64, selector: WorkspaceSelector,
        needs permission: PermissionSet, lookup: some TenancyLookup
    ) throws -> ResolvedWorkspace {
        if let key = principal.apiKey, key.mode == .workspace {
            guard key.workspaceID == rowWorkspaceID else { throw ResolutionFailure.notFound }
        } else if let explicit = try explicitSelection(selector), explicit != rowWorkspaceID {
            throw ResolutionFailure.notFound
        }
        do {
            return try reach(principal: principal, workspaceID: rowWorkspaceID, needs: permission, lookup: lookup)
        } catch ResolutionFailure.crossTenant {
            throw ResolutionFailure.notFound
        }
    }

    /// Fan-out lists (`workspaces=all` or `workspaces=16,18`): every workspace named must be
    /// reachable; the result is ascending by id. Nil when the request names no fan-out.
    public static func resolveFanOut(
        principal: Principal, selector: WorkspaceSelector, needs permission: PermissionSet,
        lookup: some TenancyLookup, maxWorkspaces: Int = 1000
    ) throws -> [ResolvedWorkspace]? {
        guard !selector.fanOutValues.isEmpty else { return nil }
        guard selector.fanOutValues.count == 1 else { throw ResolutionFailure.invalidWorkspaceID }
        let isWorkspaceKey = principal.apiKey?.mode == .workspace
        if !isWorkspaceKey && (!selector.headerValues.isEmpty || !selector.queryValues.isEmpty) {
            throw ResolutionFailure.workspaceMismatch
        }
        let value = selector.fanOutValues[0]
        if value == "all" {
            if isWorkspaceKey, let bound = principal.apiKey?.workspaceID {
                return [try reach(principal: principal, workspaceID: bound, needs: permission, lookup: lookup)]
            }
            var result: [ResolvedWorkspace] = []
            for membership in try lookup.memberships(userID: principal.userID) {
                if let key = principal.apiKey, !key.admits(membership.workspaceID) { continue }
                let rights = principal.effectivePermissions(role: membership.role)
                guard rights.isSuperset(of: permission) else { continue }
                result.append(ResolvedWorkspace(workspaceID: membership.workspaceID, role: membership.role,
                                                permissions: rights))
            }
            if result.isEmpty, let limit = principal.apiKey?.permissions, !limit.isSuperset(of: permission) {
                throw ResolutionFailure.permissionDenied
            }
            return result
        }
        var ids: [Int64] = []
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            guard let id = parseWorkspaceID(String(part)) else { throw ResolutionFailure.invalidWorkspaceID }
            if !ids.contains(id) { ids.append(id) }
        }
        guard !ids.isEmpty, ids.count <= maxWorkspaces else { throw ResolutionFailure.invalidWorkspaceID }
        if isWorkspaceKey {
            for id in ids where id != principal.apiKey?.workspaceID { throw ResolutionFailure.crossTenant }
        }
        return try ids.sorted().map {
            try reach(principal: principal, workspaceID: $0, needs: permission, lookup: lookup)
        }
    }

    /// Membership, allow-list and permission for one named workspace (rules 2 and 4).
    public static func reach(
        principal: Principal, workspaceID: Int64, needs permission: PermissionSet, lookup: some TenancyLookup
    ) throws -> ResolvedWorkspace {
        if let key = principal.apiKey, !key.admits(workspaceID) { throw ResolutionFailure.crossTenant }
        guard let role = try lookup.role(userID: principal.userID, workspaceID: workspaceID) else {
            throw ResolutionFailure.crossTenant
        }
        let rights = principal.effectivePermissions(role: role)
        guard rights.isSuperset(of: permission) else { throw ResolutionFailure.permissionDenied }
        return ResolvedWorkspace(workspaceID: workspaceID, role: role, permissions: rights)
    }
}
