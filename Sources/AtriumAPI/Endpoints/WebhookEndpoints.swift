import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumStore
import AtriumWebhooks

/// A workspace's webhook endpoints and their delivery log (api.md §6, docs/webhooks.md).
/// Delivery itself is the dispatcher's (AtriumWebhooks); these endpoints only configure it.
enum WebhookEndpoints {
    static let eventTypes = ["record.created", "record.updated", "record.deleted", "member.added", "member.removed",
                             "member.role_changed", "workspace.updated"]
    static let maxPerWorkspace = 100
    /// How long the previous secret keeps signing after a rotation.
    static let rotationOverlap: Int64 = 24 * 3_600_000

    static func all() -> [Endpoint] {
        [
            Endpoint(.get, "/v1/webhooks", .selected(.any, .webhooksRead, .read(list)), documentation: Docs.list),
            Endpoint(.post, "/v1/webhooks", .selected(.any, .webhooksWrite, .write(create)),
                     documentation: Docs.create),
            Endpoint(.get, "/v1/webhooks/{id}", .row(.any, row(.webhooksRead), .read(read)), documentation: Docs.read),
            Endpoint(.patch, "/v1/webhooks/{id}", .row(.any, row(.webhooksWrite), .write(update)),
                     documentation: Docs.update),
            Endpoint(.delete, "/v1/webhooks/{id}", .row(.any, row(.webhooksWrite), .write(delete)),
                     documentation: Docs.delete),
            Endpoint(.post, "/v1/webhooks/{id}/rotate-secret", .row(.any, row(.webhooksWrite), .write(rotateSecret)),
                     documentation: Docs.rotate),
            Endpoint(.get, "/v1/webhooks/{id}/deliveries", .row(.any, row(.webhooksRead), .read(deliveries)),
                     documentation: Docs.deliveries),
        ]
    }

    /// A webhook endpoint's workspace, for the pipeline's row rule.
    static func row(_ permission: PermissionSet) -> RowScope {
        RowScope(needs: permission) { reader, id in try reader.webhook(id: id)?.workspaceID }
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let body: [ErrorCode] = [.validationFailed, .invalidJSON, .featureUnavailable]
        static let toWebhook = OperationLink.each(
            ["getWebhook", "updateWebhook", "rotateWebhookSecret", "listDeliveries", "deleteWebhook"],
            OperationLink.idFromBody)
        static let list = EndpointDocumentation(
            "listWebhooks", "The resolved workspace's webhook endpoints, newest first",
            response: .page(of: .ref("Webhook")), paginated: true)
        static let create = EndpointDocumentation(
            "createWebhook", "Create a webhook endpoint; its signing secret is shown once", success: 201,
            errors: body + [.limitReached, .idempotencyConflict, .invalidParameter], request: .ref("WebhookCreate"),
            response: .ref("WebhookWithSecret"), parameters: [.idempotencyKey], links: toWebhook)
        static let read = EndpointDocumentation("getWebhook", "One webhook endpoint", response: .ref("Webhook"))
        static let update = EndpointDocumentation(
            "updateWebhook", "Change a webhook endpoint's URL, events, fields, description or state", errors: body,
            request: .ref("WebhookUpdate"), response: .ref("Webhook"))
        static let delete = EndpointDocumentation(
            "deleteWebhook", "Delete a webhook endpoint and its pending deliveries", success: 204)
        static let rotate = EndpointDocumentation(
            "rotateWebhookSecret", "A new signing secret, shown once; the old one still signs for 24 hours",
            response: .ref("WebhookWithSecret"))
        static let deliveries = EndpointDocumentation(
            "listDeliveries", "The endpoint's delivery attempts, newest first", response: .page(of: .ref("Delivery")),
            paginated: true)
    }

    // MARK: Inputs

    /// The settable fields of a create or a PATCH, validated; nil members were not sent.
    struct Fields {
        var url: String?
        var description: String??
        var events: [String]?
        var fields: [String]??
        var active: Bool?
    }

    static func readFields(_ request: some IncomingRequest, creating: Bool) throws -> Fields {
        var body = try request.body()
        var result = Fields()
        if let url = body.string("url", required: creating, maxLength: 2048) {
            let allowPrivate = request.services.configuration.webhookAllowPrivate
            if let problem = WebhookTargetPolicy.problem(with: url, allowPrivate: allowPrivate) {
                body.addProblem("url", problem)
            } else {
                result.url = url
            }
        }
        result.description = body.nullableString("description", maxLength: 500)
        if let events = body.stringArray("events", required: creating, maxCount: 16) {
            var unique: [String] = []
            for event in events where !unique.contains(event) {
                guard event == "*" || eventTypes.contains(event) else {
                    body.addProblem("events", "must contain only \(eventTypes.joined(separator: ", ")) or *")
                    break
                }
                unique.append(event)
            }
            if events.isEmpty { body.addProblem("events", "must name at least one event type, or *") }
            result.events = unique
        }
        if let value = body.object["fields"] {
            if case .null = value {
                result.fields = .some(nil)
            } else if let fields = body.stringArray("fields", required: false, maxCount: 100) {
                if fields.contains(where: { $0.isEmpty || $0.utf8.count > 255 }) {
                    body.addProblem("fields", "must contain field names of 1 to 255 bytes")
                } else {
                    var unique: [String] = []
                    for field in fields where !unique.contains(field) { unique.append(field) }
                    result.fields = .some(unique)
                }
            }
        }
        if let value = body.object["active"] {
            if case .bool(let flag) = value {
                result.active = flag
            } else {
                body.addProblem("active", "must be a boolean")
            }
        }
        try body.validate()
        return result
    }

    // MARK: Output

    static func write(_ row: WebhookRow, secret: String? = nil, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", row.id)
        writer.field("workspace_id", row.workspaceID)
        writer.field("url", row.url)
        writer.field("description", row.description)
        writer.key("events")
        writer.beginArray()
        for event in row.events { writer.string(event) }
        writer.endArray()
        writer.key("fields")
        if let fields = row.fields {
            writer.beginArray()
            for field in fields { writer.string(field) }
            writer.endArray()
        } else {
            writer.null()
        }
        writer.field("active", row.active)
        writer.field("disabled_reason", row.disabledReason)
        if let secret { writer.field("secret", secret) }
        writer.timeField("secret_rotated_at", row.secretRotatedAt)
        writer.timeField("created_at", row.createdAt)
        writer.timeField("updated_at", row.updatedAt)
        writer.endObject()
    }

    static func write(_ row: DeliveryRow, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", row.id)
        writer.field("webhook_id", row.webhookID)
        writer.field("event_id", EventPayload.messageID(row.eventID))
        writer.field("event_type", row.eventType)
        writer.field("attempt", Int64(row.attempt))
        writer.field("status", row.status.rawValue)
        writer.field("response_status", row.responseStatus.map(Int64.init))
        writer.field("error", row.error)
        writer.field("duration_ms", row.durationMilliseconds)
        writer.timeField("created_at", row.createdAt)
        writer.timeField("next_attempt_at", row.nextAttemptAt)
        writer.endObject()
    }

    static func audit(_ row: WebhookRow, action: String, actor: AuditActor, writer: StoreWriter, now: Int64) throws {
        try writer.audit(workspaceID: row.workspaceID, action: action, actor: actor,
                         target: Presenters.target([("webhook_id", .number(JSONNumber(row.id))),
                                                    ("url", .string(row.url))]),
                         now: now)
    }

    // MARK: Handlers

    static func list(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let workspaceID = request.workspace.workspaceID
        return try Cursor.page(request, prefix: "w", id: \WebhookRow.id, rowBytes: 400,
                               present: { write($0, into: &$1) }) { cursor, limit in
            try reader.webhooks(workspaceID: workspaceID, before: cursor, limit: limit)
        }
    }

    static func create(_ request: WorkspaceRequest) throws -> StoreWrite {
        let fields = try readFields(request, creating: true)
        guard let url = fields.url, let events = fields.events else { throw APIError.invalidJSON }
        let workspaceID = request.workspace.workspaceID
        let userID = request.principal.userID
        let actor = request.actor
        let now = request.now
        let services = request.services
        let secret = WebhookSecret.generate()
        return try Idempotency.write(request, workspaceID: workspaceID) { writer in
            try FeatureGate.require(.webhooks, in: workspaceID, services: services, reader: writer.reader)
            guard try writer.reader.webhookCount(workspaceID: workspaceID) < maxPerWorkspace else {
                throw APIError.limitReached("webhook endpoints per workspace")
            }
            let row = try writer.insertWebhook(
                workspaceID: workspaceID, url: url, description: fields.description ?? nil, events: events,
                fields: fields.fields ?? nil, active: fields.active ?? true, secret: secret, createdBy: userID,
                now: now)
            try audit(row, action: "webhook.created", actor: actor, writer: writer, now: now)
            let response = Respond.created(location: "/v1/webhooks/\(row.id)") { writer in
                write(row, secret: secret, into: &writer)
            }
            return StoreWrite.Outcome(response, afterCommit: endpointsChanged(workspaceID, services))
        }
    }

    /// Tells the dispatcher, once a change is durable, that a workspace's endpoints changed,
    /// and the other instances on the database (one of them may be the one delivering).
    static func endpointsChanged(_ workspaceID: Int64, _ services: Services) -> @Sendable () -> Void {
        {
            services.webhooks.endpointsChanged(workspaceID: workspaceID)
            services.store.announceEndpointsChanged(workspaceID: workspaceID)
        }
    }

    /// The endpoint row a read acts on, in the workspace the pipeline resolved for it.
    static func current(_ request: WorkspaceRequest, reader: StoreReader) throws -> WebhookRow {
        guard let row = try reader.webhook(id: try request.pathID("id")),
              row.workspaceID == request.workspace.workspaceID else { throw APIError.notFound }
        return row
    }

    static func read(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let row = try current(request, reader: reader)
        return Respond.json { writer in write(row, into: &writer) }
    }

    static func deliveries(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let id = try current(request, reader: reader).id
        return try Cursor.page(request, prefix: "d", id: \DeliveryRow.id, rowBytes: 300,
                               present: { write($0, into: &$1) }) { cursor, limit in
            try reader.deliveries(webhookID: id, before: cursor, limit: limit)
        }
    }

    /// A write on one endpoint: `change` gets the row, in the workspace the pipeline resolved.
    private static func changing(
        _ request: AccountRequest,
        _ change: @escaping @Sendable (WebhookRow, StoreWriter) throws -> StoreWrite.Outcome
    ) throws -> RowWrite {
        let id = try request.pathID("id")
        return RowWrite { writer, workspace in
            guard let current = try writer.reader.webhook(id: id), current.workspaceID == workspace.workspaceID else {
                throw APIError.notFound
            }
            return try change(current, writer)
        }
    }

    static func update(_ request: AccountRequest) throws -> RowWrite {
        let fields = try readFields(request, creating: false)
        let actor = request.actor
        let now = request.now
        let services = request.services
        return try changing(request) { current, writer in
            var row = current
            if let url = fields.url { row.url = url }
            if let description = fields.description { row.description = description }
            if let events = fields.events { row.events = events }
            if let narrowed = fields.fields { row.fields = narrowed }
            if let active = fields.active {
                row.active = active
                if active { row.disabledReason = nil }
            }
            // Turning an endpoint off never needs the plan's `webhooks` feature (like deleting):
            // a workspace whose plan lost it can still stop its deliveries.
            var offOnly = current
            offOnly.active = false
            if row != current && row != offOnly {
                try FeatureGate.require(.webhooks, in: current.workspaceID, services: services, reader: writer.reader)
            }
            if row != current {
                try writer.updateWebhook(row, now: now, reactivated: row.active && !current.active)
                row.updatedAt = now
                try audit(row, action: "webhook.updated", actor: actor, writer: writer, now: now)
            }
            let answered = row
            return StoreWrite.Outcome(Respond.json { writer in write(answered, into: &writer) },
                                      afterCommit: endpointsChanged(row.workspaceID, services))
        }
    }

    static func delete(_ request: AccountRequest) throws -> RowWrite {
        let actor = request.actor
        let now = request.now
        let services = request.services
        return try changing(request) { current, writer in
            try writer.deleteWebhook(id: current.id)
            try audit(current, action: "webhook.deleted", actor: actor, writer: writer, now: now)
            return StoreWrite.Outcome(Respond.noContent(), afterCommit: endpointsChanged(current.workspaceID, services))
        }
    }

    static func rotateSecret(_ request: AccountRequest) throws -> RowWrite {
        let actor = request.actor
        let now = request.now
        let secret = WebhookSecret.generate()
        return try changing(request) { current, writer in
            var row = current
            row.previousSecret = current.secret
            row.previousSecretExpiresAt = now + rotationOverlap
            row.secret = secret
            row.secretRotatedAt = now
            try writer.updateWebhook(row, now: now)
            row.updatedAt = now
            try audit(row, action: "webhook.secret_rotated", actor: actor, writer: writer, now: now)
            let answered = row
            return StoreWrite.Outcome(Respond.json { writer in write(answered, secret: secret, into: &writer) })
        }
    }
}
