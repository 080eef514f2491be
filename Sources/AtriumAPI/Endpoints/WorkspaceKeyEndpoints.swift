import AtriumAuth
import AtriumCrypto
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// A workspace's own `workspace`-mode keys (api.md §5): bound to that workspace for good.
enum WorkspaceKeyEndpoints {
    static func all() -> [Endpoint] {
        [
            Endpoint(.get, "/v1/workspaces/{id}/api-keys", .path(.session, parameter: "id", .apiKeysRead, .read(list)),
                     documentation: Docs.list),
            Endpoint(.post, "/v1/workspaces/{id}/api-keys",
                     .path(.session, parameter: "id", .apiKeysWrite, .respond(create)), documentation: Docs.create),
            Endpoint(.put, "/v1/workspaces/{id}/api-keys/{keyId}",
                     .path(.session, parameter: "id", .apiKeysWrite, .respond(update)), documentation: Docs.update),
            Endpoint(.delete, "/v1/workspaces/{id}/api-keys/{keyId}",
                     .path(.session, parameter: "id", .apiKeysWrite, .respond(delete)), documentation: Docs.delete),
        ]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let body: [ErrorCode] = [.validationFailed, .invalidJSON, .featureUnavailable]
        static let list = EndpointDocumentation(
            "listWorkspaceKeys", "The workspace's workspace-mode keys (never their secrets)",
            response: .page(of: .ref("APIKey")))
        static let create = EndpointDocumentation(
            "createWorkspaceKey", "Create a key bound to this workspace; the secret is shown once", success: 201,
            errors: body + [.idempotencyConflict, .invalidParameter], request: .ref("WorkspaceKeyCreate"),
            response: .ref("APIKeyWithSecret"), parameters: [.idempotencyKey],
            links: [OperationLink(to: "deleteWorkspaceKey",
                                  [("id", "$response.body#/workspace_id"), ("keyId", "$response.body#/id")])])
        static let update = EndpointDocumentation(
            "updateWorkspaceKey", "Replace a workspace key's name, permissions and expiry", errors: body,
            request: .ref("WorkspaceKeyCreate"), response: .ref("APIKey"))
        static let delete = EndpointDocumentation("deleteWorkspaceKey", "Revoke a workspace key at once", success: 204)
    }

    static func list(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let keys = try reader.workspaceKeys(workspaceID: request.workspace.workspaceID)
        return Respond.json(capacity: 64 + keys.count * 300) { writer in
            Presenters.list(keys, into: &writer) { Presenters.apiKey($0, into: &$1) }
        }
    }

    static func create(_ request: WorkspaceRequest) throws -> HTTPResponse {
        let fields = try APIKeyEndpoints.readFields(request, modeFixed: .workspace)
        let workspaceID = request.workspace.workspaceID
        let userID = request.principal.userID
        let now = request.now
        let secret = APIKeySecret.generate()
        let hash = APIKeySecret.hash(secret)
        let services = request.services
        let actor = request.actor
        return try Idempotency.create(request, workspaceID: workspaceID, redacting: ["secret"]) { writer in
            try FeatureGate.require(.apiKeys, in: workspaceID, services: services, reader: writer.reader)
            let row = try writer.createAPIKey(
                userID: userID, mode: .workspace, workspaceID: workspaceID, name: fields.name,
                prefix: APIKeySecret.displayPrefix(secret), secretHash: hash, permissions: fields.permissions,
                expiresAt: fields.expiresAt, allowList: [], now: now)
            try APIKeyEndpoints.auditKey(row, action: "api_key.created", actor: actor, writer: writer, now: now)
            return row
        } answer: { row in
            Respond.created(location: "/v1/workspaces/\(workspaceID)/api-keys/\(row.id)") { writer in
                Presenters.apiKey(row, secret: secret, into: &writer)
            }
        }
    }

    static func update(_ request: WorkspaceRequest) throws -> HTTPResponse {
        let keyID = try request.pathID("keyId")
        let workspaceID = request.workspace.workspaceID
        let fields = try APIKeyEndpoints.readFields(request, modeFixed: .workspace)
        let services = request.services
        let actor = request.actor
        let now = request.now
        let row = try services.store.write { writer in
            guard let current = try writer.reader.apiKey(id: keyID), current.workspaceID == workspaceID else {
                throw APIError.notFound
            }
            try FeatureGate.require(.apiKeys, in: workspaceID, services: services, reader: writer.reader)
            let row = try writer.updateAPIKey(id: keyID, name: fields.name, permissions: fields.permissions,
                                              expiresAt: fields.expiresAt, allowList: nil)
            try APIKeyEndpoints.auditKey(row, action: "api_key.updated", actor: actor, writer: writer, now: now)
            return row
        }
        return Respond.json { writer in Presenters.apiKey(row, into: &writer) }
    }

    static func delete(_ request: WorkspaceRequest) throws -> HTTPResponse {
        let keyID = try request.pathID("keyId")
        let workspaceID = request.workspace.workspaceID
        let actor = request.actor
        let now = request.now
        try request.services.store.write { writer in
            guard let current = try writer.reader.apiKey(id: keyID), current.workspaceID == workspaceID else {
                throw APIError.notFound
            }
            try APIKeyEndpoints.auditKey(current, action: "api_key.revoked", actor: actor, writer: writer, now: now)
            _ = try writer.deleteAPIKey(id: keyID)
        }
        return Respond.noContent()
    }
}
