import AtriumAuth
import AtriumCrypto
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// The caller's own account-level keys, `full` and `scoped` (api.md §5, last key row).
enum APIKeyEndpoints {
    static func all() -> [Endpoint] {
        [
            Endpoint(.get, "/v1/api-keys", .account(.session, .read(list)), documentation: Docs.list),
            Endpoint(.post, "/v1/api-keys", .account(.session, .respond(create)), documentation: Docs.create),
            Endpoint(.put, "/v1/api-keys/{keyId}", .account(.session, .respond(update)), documentation: Docs.update),
            Endpoint(.delete, "/v1/api-keys/{keyId}", .account(.session, .respond(delete)), documentation: Docs.delete),
        ]
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let body: [ErrorCode] = [.validationFailed, .invalidJSON, .crossTenantWorkspace, .featureUnavailable]
        static let list = EndpointDocumentation(
            "listAPIKeys", "The caller's full and scoped API keys", response: .page(of: .ref("APIKey")))
        static let create = EndpointDocumentation(
            "createAPIKey", "Create a full or scoped API key; the secret is shown once", success: 201,
            errors: body + [.idempotencyConflict, .invalidParameter], request: .ref("APIKeyCreate"),
            response: .ref("APIKeyWithSecret"), parameters: [.idempotencyKey],
            links: OperationLink.each(["updateAPIKey", "deleteAPIKey"], [("keyId", "$response.body#/id")]))
        static let update = EndpointDocumentation(
            "updateAPIKey", "Replace a key's name, permissions, expiry and allow-list", errors: body,
            request: .ref("APIKeyUpdate"), response: .ref("APIKey"))
        static let delete = EndpointDocumentation("deleteAPIKey", "Revoke a key at once", success: 204)
    }

    /// The validated fields shared by create and update.
    struct KeyFields {
        var name: String
        var mode: APIKeyMode
        var workspaceIDs: [Int64]?
        var permissions: [String]?
        var expiresAt: Int64?
    }

    static func readFields(_ request: some IncomingRequest, modeFixed: APIKeyMode?) throws -> KeyFields {
        var body = try request.body()
        let name = body.string("name", required: true, minLength: 1, maxLength: 100, trim: true)
        var mode = modeFixed
        if let modeFixed, modeFixed != .workspace, body.has("mode") {
            // `mode` is part of an account key's body, and fixed at creation: naming another one
            // is an error, not ignored. (Workspace keys have no `mode` field: ignored, api.md §1.)
            if body.string("mode", required: false, maxLength: 16) != modeFixed.rawValue {
                body.addProblem("mode", "cannot be changed: this key is \(modeFixed.rawValue)")
            }
        }
        // `mode` omitted means `full`; `workspace_ids` then needs it named (api.md §5).
        let modeOmitted = modeFixed == nil && !body.has("mode")
        if modeOmitted {
            mode = .full
            if body.has("workspace_ids") { body.addProblem("mode", "is required with workspace_ids (\"scoped\")") }
        } else if modeFixed == nil {
            let modeText = body.string("mode", required: true, maxLength: 16)
            if let modeText {
                if let parsed = APIKeyMode(rawValue: modeText), parsed != .workspace {
                    mode = parsed
                } else {
                    body.addProblem("mode", "must be \"full\" or \"scoped\"")
                }
            }
        }
        let workspaceIDs = body.idArray("workspace_ids", required: mode == .scoped && modeFixed == nil)
        if mode == .scoped, let ids = workspaceIDs, ids.isEmpty {
            body.addProblem("workspace_ids", "must name at least one workspace")
        }
        if mode == .full, workspaceIDs != nil, !modeOmitted {
            body.addProblem("workspace_ids", "is only for scoped keys")
        }
        let permissionNames = body.stringArray("permissions", required: false, maxCount: 32)
        if let permissionNames, PermissionSet(names: permissionNames) == nil {
            body.addProblem("permissions", "contains an unknown permission")
        }
        let expires = body.timestamp("expires_at")
        if case .some(.some(let at)) = expires, at <= request.now {
            body.addProblem("expires_at", "must be in the future")
        }
        try body.validate()
        guard let name, let mode else { throw APIError.invalidJSON }
        let canonical = permissionNames.flatMap { PermissionSet(names: $0)?.names }
        return KeyFields(name: name, mode: mode, workspaceIDs: workspaceIDs, permissions: canonical,
                         expiresAt: expires ?? nil)
    }

    /// Where an account key's changes are audited: each allow-listed workspace of a scoped
    /// key; the creator's main workspace for a full key.
    static func auditWorkspaces(_ row: APIKeyRow, writer: StoreWriter) throws -> [Int64] {
        if row.mode == .scoped { return row.workspaceIDs }
        return try writer.reader.user(id: row.userID)?.mainWorkspaceID.map { [$0] } ?? []
    }

    static func auditKey(_ row: APIKeyRow, action: String, actor: AuditActor, writer: StoreWriter, now: Int64) throws {
        let target = Presenters.target([("key_id", .number(JSONNumber(row.id))), ("name", .string(row.name)),
                                        ("mode", .string(row.mode.rawValue))])
        let workspaces = row.mode == .workspace
            ? [row.workspaceID].compactMap { $0 } : try auditWorkspaces(row, writer: writer)
        for workspace in workspaces {
            try writer.audit(workspaceID: workspace, action: action, actor: actor, target: target, now: now)
        }
    }

    /// Creating or updating account keys needs the `api_keys` feature in the caller's plan.
    static func requireKeysFeature(userID: Int64, services: Services, reader: StoreReader) throws {
        guard !services.plans.everyPlanHas(.apiKeys) else { return }
        let plan = services.plans.plan(named: try reader.user(id: userID)?.plan)
        guard plan.features.contains(.apiKeys) else { throw APIError.featureUnavailable("api_keys") }
    }

    static func list(_ request: AccountRequest, reader: StoreReader) throws -> HTTPResponse {
        let keys = try reader.accountKeys(userID: request.principal.userID)
        return Respond.json(capacity: 64 + keys.count * 300) { writer in
            Presenters.list(keys, into: &writer) { Presenters.apiKey($0, into: &$1) }
        }
    }

    static func create(_ request: AccountRequest) throws -> HTTPResponse {
        let fields = try readFields(request, modeFixed: nil)
        let userID = request.principal.userID
        let now = request.now
        let secret = APIKeySecret.generate()
        let hash = APIKeySecret.hash(secret)
        let prefix = APIKeySecret.displayPrefix(secret)
        let services = request.services
        let actor = request.actor
        return try Idempotency.create(request, workspaceID: nil, redacting: ["secret"]) { writer in
            try requireKeysFeature(userID: userID, services: services, reader: writer.reader)
            for id in fields.workspaceIDs ?? [] where try writer.reader.role(userID: userID, workspaceID: id) == nil {
                throw APIError.crossTenant
            }
            let row = try writer.createAPIKey(
                userID: userID, mode: fields.mode, workspaceID: nil, name: fields.name, prefix: prefix,
                secretHash: hash, permissions: fields.permissions, expiresAt: fields.expiresAt,
                allowList: fields.workspaceIDs ?? [], now: now)
            try auditKey(row, action: "api_key.created", actor: actor, writer: writer, now: now)
            return row
        } answer: { row in
            Respond.created(location: "/v1/api-keys/\(row.id)") { writer in
                Presenters.apiKey(row, secret: secret, into: &writer)
            }
        }
    }

    static func update(_ request: AccountRequest) throws -> HTTPResponse {
        let keyID = try request.pathID("keyId")
        let userID = request.principal.userID
        let existing = try request.services.store.read { try $0.apiKey(id: keyID) }
        guard let existing, existing.userID == userID, existing.mode != .workspace else { throw APIError.notFound }
        let fields = try readFields(request, modeFixed: existing.mode)
        let services = request.services
        let actor = request.actor
        let now = request.now
        let row = try services.store.write { writer in
            guard let current = try writer.reader.apiKey(id: keyID), current.userID == userID else {
                throw APIError.notFound
            }
            try requireKeysFeature(userID: userID, services: services, reader: writer.reader)
            for id in fields.workspaceIDs ?? [] where try writer.reader.role(userID: userID, workspaceID: id) == nil {
                throw APIError.crossTenant
            }
            let row = try writer.updateAPIKey(id: keyID, name: fields.name, permissions: fields.permissions,
                                              expiresAt: fields.expiresAt, allowList: fields.workspaceIDs)
            try auditKey(row, action: "api_key.updated", actor: actor, writer: writer, now: now)
            return row
        }
        return Respond.json { writer in Presenters.apiKey(row, into: &writer) }
    }

    static func delete(_ request: AccountRequest) throws -> HTTPResponse {
        let keyID = try request.pathID("keyId")
        let userID = request.principal.userID
        let actor = request.actor
        let now = request.now
        try request.services.store.write { writer in
            guard let current = try writer.reader.apiKey(id: keyID), current.userID == userID,
                  current.mode != .workspace else { throw APIError.notFound }
            try auditKey(current, action: "api_key.revoked", actor: actor, writer: writer, now: now)
            _ = try writer.deleteAPIKey(id: keyID)
        }
        return Respond.noContent()
    }
}
