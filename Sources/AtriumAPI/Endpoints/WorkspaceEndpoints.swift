import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// Workspace creation and reading (api.md §5).
enum WorkspaceEndpoints {
    static func all() -> [Endpoint] {
        [
            Endpoint(.post, "/v1/workspaces", .account(.session, .respond(create)), documentation: Docs.create),
            Endpoint(.get, "/v1/workspaces/{id}", .path(.any, parameter: "id", .workspaceRead, .read(read)),
                     documentation: Docs.read),
        ]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let create = EndpointDocumentation(
            "createWorkspace", "Create a workspace owned by the caller", success: 201,
            errors: [.validationFailed, .invalidJSON, .limitReached, .idempotencyConflict, .invalidParameter],
            request: .ref("WorkspaceCreate"),
            response: .ref("Workspace"), parameters: [.idempotencyKey],
            links: OperationLink.each(["getWorkspace", "listMembers", "updateWorkspace", "deleteWorkspace"],
                                      OperationLink.idFromBody))
        static let read = EndpointDocumentation("getWorkspace", "One workspace", response: .ref("Workspace"))
    }

    /// `#RRGGBB`.
    static func isColor(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[0] == UInt8(ascii: "#") else { return false }
        return bytes.dropFirst().allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
        }
    }

    static func create(_ request: AccountRequest) throws -> HTTPResponse {
        var body = try request.body()
        let name = body.string("name", required: true, minLength: 1, maxLength: 100, trim: true)
        let color = body.nullableString("color", maxLength: 7)
        if case .some(.some(let text)) = color, !isColor(text) { body.addProblem("color", "must be #RRGGBB or null") }
        let metadata = body.objectText("metadata", maxBytes: 4096)
        try body.validate()
        guard let name else { throw APIError.invalidJSON }
        let userID = request.principal.userID
        let now = request.now
        let plans = request.services.plans
        let actor = request.actor
        return try Idempotency.create(request, workspaceID: nil) { writer in
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
        } answer: { created in
            Respond.created(location: "/v1/workspaces/\(created.0.id)") { writer in
                Presenters.workspace(created.0, mainWorkspaceID: created.1, into: &writer)
            }
        }
    }

    static func read(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let userID = request.principal.userID
        let row = try reader.workspace(id: request.workspace.workspaceID, userID: userID)
        let main = try reader.user(id: userID)?.mainWorkspaceID
        guard let row else { throw APIError.crossTenant }
        return Respond.json { writer in Presenters.workspace(row, mainWorkspaceID: main, into: &writer) }
    }
}
