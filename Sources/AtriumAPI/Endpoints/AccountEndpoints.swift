import AtriumAuth
import AtriumCrypto
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// Usage, billing, the account view and the audit log (api.md §5, §6).
enum AccountEndpoints {
    static func all() -> [Endpoint] {
        [
            Endpoint(.get, "/v1/workspaces/{id}/usage", .path(.any, parameter: "id", .billingRead, .read(usage)),
                     documentation: Docs.usage),
            Endpoint(.get, "/v1/workspaces/{id}/billing", .path(.any, parameter: "id", .billingRead, .read(billing)),
                     documentation: Docs.billing),
            Endpoint(.get, "/v1/account", .account(.any, .read(account)), documentation: Docs.account),
            Endpoint(.get, "/v1/audit-log", .selected(.any, .auditRead, .read(auditLog)), documentation: Docs.auditLog),
        ]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let usage = EndpointDocumentation(
            "getUsage", "Counts of what the workspace holds and how much it is used", response: .ref("Usage"))
        static let billing = EndpointDocumentation(
            "getBilling", "The owner's plan, which governs this workspace", response: .ref("Billing"))
        static let account = EndpointDocumentation(
            "getAccount", "The caller's plan, limits, features and usage over owned workspaces",
            response: .ref("Account"))
        static let auditLog = EndpointDocumentation(
            "listAuditLog", "The resolved workspace's audit log, newest first", response: .page(of: .ref("AuditEntry")),
            paginated: true)
    }

    static func thirtyDaysAgo(_ now: Int64) -> Int64 { now / 86_400_000 - 29 }

    static func writeUsage(_ usage: UsageRow, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("records", usage.records)
        writer.field("members", usage.members)
        writer.field("api_keys", usage.apiKeys)
        writer.field("webhooks", usage.webhooks)
        writer.field("requests_30d", usage.requests30d)
        writer.field("storage_bytes", usage.storageBytes)
        writer.endObject()
    }

    static func writePlan(_ plan: Plan, into writer: inout JSONWriter) {
        writer.field("plan", plan.name)
        writer.key("limits")
        writer.beginObject()
        writer.field("max_workspaces_per_user", plan.maxWorkspacesPerUser.map(Int64.init))
        writer.field("max_members_per_workspace", plan.maxMembersPerWorkspace.map(Int64.init))
        writer.field("invites_per_hour", plan.invitesPerHour.map(Int64.init))
        writer.endObject()
        writer.key("features")
        writer.beginArray()
        for feature in plan.features.sorted() { writer.string(feature.rawValue) }
        writer.endArray()
    }

    static func usage(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let usage = try reader.usage(workspaceIDs: [request.workspace.workspaceID],
                                     sinceDay: thirtyDaysAgo(request.now))
        return Respond.json { writer in writeUsage(usage, into: &writer) }
    }

    static func billing(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let (ownerID, plan) = try FeatureGate.ownerPlan(of: request.workspace.workspaceID, services: request.services,
                                                        reader: reader)
        return Respond.json { writer in
            writer.beginObject()
            writer.field("owner_id", ownerID)
            writePlan(plan, into: &writer)
            writer.endObject()
        }
    }

    static func account(_ request: AccountRequest, reader: StoreReader) throws -> HTTPResponse {
        let userID = request.principal.userID
        guard let user = try reader.user(id: userID) else { throw APIError.invalidToken }
        let plan = request.services.plans.plan(named: user.plan)
        let owned = try reader.ownedWorkspaces(userID: userID)
        let joined = try reader.memberships(userID: userID).count - owned.count
        let usage = try reader.usage(workspaceIDs: owned, sinceDay: thirtyDaysAgo(request.now))
        return Respond.json { writer in
            writer.beginObject()
            writer.field("user_id", userID)
            writePlan(plan, into: &writer)
            writer.key("usage")
            writer.beginObject()
            writer.field("workspaces_owned", Int64(owned.count))
            writer.field("workspaces_joined", Int64(max(0, joined)))
            writer.field("records", usage.records)
            writer.field("storage_bytes", usage.storageBytes)
            writer.field("requests_30d", usage.requests30d)
            writer.endObject()
            writer.endObject()
        }
    }

    static func auditLog(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let workspaceID = request.workspace.workspaceID
        return try Cursor.page(request, prefix: "a", id: \.id, rowBytes: 256,
                               present: Presenters.audit) { cursor, limit in
            try reader.auditLog(workspaceID: workspaceID, before: cursor, limit: limit)
        }
    }
}

/// Opaque page cursors: base64url of a kind letter and the last id seen.
enum Cursor {
    /// A `{data, next_cursor}` page newest first: reads the `limit` and `cursor` of the query,
    /// fetches one row more than the page (rows with ids below the cursor) to learn whether
    /// another page follows, and writes each row with `present`.
    static func page<Row>(_ request: some IncomingRequest, prefix: String, id: KeyPath<Row, Int64>, rowBytes: Int,
                          present: (Row, inout JSONWriter) -> Void,
                          fetch: (_ before: Int64?, _ limit: Int) throws -> [Row]) throws -> HTTPResponse {
        let limit = try request.query.limit()
        let rows = try fetch(try decode(request.query, prefix: prefix), limit + 1)
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { encode($0[keyPath: id], prefix: prefix) } : nil
        return Respond.json(capacity: 64 + page.count * rowBytes) { writer in
            Presenters.list(page, nextCursor: next, into: &writer, present)
        }
    }

    static func encode(_ id: Int64, prefix: String) -> String {
        Base64.urlEncode(Array("\(prefix)\(id)".utf8))
    }

    /// The id in `cursor`, nil when absent, 400 INVALID_PARAMETER when malformed.
    static func decode(_ query: QueryParameters, prefix: String) throws(APIError) -> Int64? {
        let values = query.values("cursor")
        guard !values.isEmpty else { return nil }
        guard values.count == 1, let bytes = Base64.urlDecodeCanonical(values[0]),
              let text = String(validating: bytes, as: UTF8.self), text.hasPrefix(prefix),
              let id = WorkspaceResolver.parseWorkspaceID(String(text.dropFirst(prefix.count))) else {
            throw APIError.invalidParameter("cursor")
        }
        return id
    }
}
