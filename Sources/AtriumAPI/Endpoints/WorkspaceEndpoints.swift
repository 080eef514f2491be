import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// Workspace creation and reading (api.md §5).
enum WorkspaceEndpoints {
    static func all() -> [Endpoint] {
        [
            Endpoint(.post, "/v1/workspaces", access: .session,
                     documentation: .init("Create a workspace owned by the caller", success: 201,
                                          errors: ["VALIDATION_FAILED", "INVALID_JSON", "LIMIT_REACHED", "SESSION_REQUIRED"],
                                          operationID: "createWorkspace", request: .ref("WorkspaceCreate"), response: .ref("Workspace"), links: [OperationLink("GetWorkspace", to: "getWorkspace", [("id", "$response.body#/id")]), OperationLink("ListMembers", to: "listMembers", [("id", "$response.body#/id")]), OperationLink("UpdateWorkspace", to: "updateWorkspace", [("id", "$response.body#/id")]), OperationLink("DeleteWorkspace", to: "deleteWorkspace", [("id", "$response.body#/id")])]),
                     handler: create),
            Endpoint(.get, "/v1/workspaces/{id}", access: .anyCredential,
                     scope: .path(parameter: "id", .workspaceRead),
                     documentation: .init("One workspace",
                                          errors: ["INVALID_WORKSPACE_ID", "CROSS_TENANT_WORKSPACE", "PERMISSION_DENIED"],
                                          operationID: "getWorkspace", response: .ref("Workspace")),
                     reading: read),
        ]
    }

    /// `#RRGGBB`.
    static func isColor(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[0] == UInt8(ascii: "#") else { return false }
        return bytes.dropFirst().allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) }
    }

    static func create(_ request: inout APIRequest) throws -> HTTPResponse {
        var body = try request.body()
        let name = body.string("name", required: true, minLength: 1, maxLength: 100, trim: true)
        let color = body.nullableString("color", maxLength: 7)
        if case .some(.some(let text)) = color, !isColor(text) { body.addProblem("color", "must be #RRGGBB or null") }
        let metadata = body.objectText("metadata", maxBytes: 4096)
        try body.validate()
        guard let name else { throw APIError.invalidJSON }
        let userID = request.caller.userID
        let now = request.now
        let plans = request.services.plans
        let actor = request.actor
        let (row, main) = try request.services.store.write { writer in
            guard let user = try writer.reader.user(id: userID) else { throw APIError.invalidToken }
            if let limit = plans.plan(named: user.plan).maxWorkspacesPerUser,
               try writer.reader.memberships(userID: userID).count >= limit {
                throw APIError.limitReached("workspaces per user")
            }
            let row = try writer.createWorkspace(ownerID: userID, name: name, color: color ?? nil,
                                                 metadata: metadata ?? "{}", now: now)
            try writer.audit(workspaceID: row.id, action: "workspace.created", actor: actor,
                             target: Presenters.target([("workspace_id", .number(JSONNumber(row.id))),
                                                        ("name", .string(name))]), now: now)
            return (row, user.mainWorkspaceID)
        }
        return Respond.created(location: "/v1/workspaces/\(row.id)") { writer in
            Presenters.workspace(row, mainWorkspaceID: main, into: &writer)
        }
    }

    static func read(_ request: inout APIRequest, reader: StoreReader) throws -> HTTPResponse {
        let userID = request.caller.userID
        let row = try reader.workspace(id: request.resolved.workspaceID, userID: userID)
        let main = try reader.user(id: userID)?.mainWorkspaceID
        guard let row else { throw APIError.crossTenant }
        return Respond.json { writer in Presenters.workspace(row, mainWorkspaceID: main, into: &writer) }
    }
}
