import AtriumAuth
import AtriumCrypto
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// Workspace-scoped JSON records (api.md §6): create with idempotency keys, cursor pages with
/// filters and fan-out, and calls on one record whose workspace comes from the row.
enum RecordEndpoints {
    static let maxDataBytes = 64 * 1024
    static let idempotencyWindow: Int64 = 24 * 3600 * 1000

    static func all() -> [Endpoint] {
        [
            Endpoint(.post, "/v1/collections/{collection}/records",
                     .selected(.any, .contentWrite, .write(create)), documentation: Docs.create),
            Endpoint(.get, "/v1/collections/{collection}/records",
                     .list(.any, .contentRead, list), documentation: Docs.list),
            Endpoint(.get, "/v1/records/{id}", .row(.any, row(.contentRead), .read(read)), documentation: Docs.read),
            Endpoint(.patch, "/v1/records/{id}", .row(.any, row(.contentWrite), .write { try change($0, merge: true) }),
                     documentation: Docs.update),
            Endpoint(.put, "/v1/records/{id}", .row(.any, row(.contentWrite), .write { try change($0, merge: false) }),
                     documentation: Docs.replace),
            Endpoint(.delete, "/v1/records/{id}", .row(.any, row(.contentWrite), .write(delete)),
                     documentation: Docs.delete),
        ]
    }

    /// A record's workspace, for the pipeline's row rule.
    static func row(_ permission: PermissionSet) -> RowScope {
        RowScope(needs: permission) { reader, id in try reader.record(id: id)?.workspaceID }
    }

    /// What the OpenAPI document says about each operation.
    enum Docs {
        static let body: [ErrorCode] = [.validationFailed, .invalidJSON, .payloadTooLarge]
        static let toRecord = OperationLink.each(["getRecord", "updateRecord", "replaceRecord", "deleteRecord"],
                                                 OperationLink.idFromBody)
        static let create = EndpointDocumentation(
            "createRecord", "Create a record in the resolved workspace", success: 201,
            errors: body + [.idempotencyConflict], request: .ref("RecordData"), response: .ref("Record"),
            parameters: [.idempotencyKey], links: toRecord)
        static let list = EndpointDocumentation(
            "listRecords", "A page of records, newest first; fan-out with workspaces=",
            response: .page(of: .ref("Record")), parameters: [.recordFilter], paginated: true)
        static let read = EndpointDocumentation("getRecord", "One record", response: .ref("Record"))
        static let update = EndpointDocumentation(
            "updateRecord", "Merge-patch a record's data (RFC 7396)", errors: body + [.preconditionFailed],
            request: .ref("RecordData"), response: .ref("Record"), parameters: [.ifMatch])
        static let replace = EndpointDocumentation(
            "replaceRecord", "Replace a record's data", errors: body + [.preconditionFailed],
            request: .ref("RecordData"), response: .ref("Record"), parameters: [.ifMatch])
        static let delete = EndpointDocumentation(
            "deleteRecord", "Delete a record", success: 204, errors: [.preconditionFailed], parameters: [.ifMatch])
    }

    // MARK: Inputs

    /// `^[a-z][a-z0-9_]{0,63}$`, else 400 INVALID_PARAMETER.
    static func collection(_ request: some IncomingRequest) throws(APIError) -> String {
        guard let name = request.context.parameter("collection"), isCollectionName(name) else {
            throw APIError.invalidParameter("collection")
        }
        return name
    }

    static func isCollectionName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, first >= 97, first <= 122, bytes.count <= 64 else { return false }
        return bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    /// The `data` member: a JSON object, serialized compactly, at most 64 KiB (else 413).
    static func dataText(_ request: some IncomingRequest, patch: Bool = false) throws -> JSONValue {
        var body = try request.body()
        guard let data = body.object["data"] else {
            body.addProblem("data", "is required")
            try body.validate()
            throw APIError.invalidJSON
        }
        guard case .object = data else {
            body.addProblem("data", "must be a JSON object")
            try body.validate()
            throw APIError.invalidJSON
        }
        if !patch && data.serialized().count > maxDataBytes { throw APIError.payloadTooLarge }
        return data
    }

    static func idempotencyKey(_ request: some IncomingRequest) throws(APIError) -> String? {
        let values = request.http.headers.values("idempotency-key")
        guard let key = values.first else { return nil }
        guard values.count == 1, !key.isEmpty, key.utf8.count <= 255,
              key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw APIError.invalidParameter("Idempotency-Key")
        }
        return key
    }

    /// `If-Match`: `*`, or a list of `"<version>"` (weak tags never match, RFC 9110 §13.1.1).
    static func ifMatchAllows(_ values: [String], version: Int64) -> Bool {
        if values.isEmpty { return true }
        for value in values {
            for tag in value.split(separator: ",") {
                let trimmed = tag.trimmingSpaces
                if trimmed == "*" || trimmed == "\"\(version)\"" { return true }
            }
        }
        return false
    }

    // MARK: Output

    static func write(_ row: RecordRow, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", row.id)
        writer.field("workspace_id", row.workspaceID)
        writer.field("collection", row.collection)
        writer.key("data")
        writer.raw(row.data)
        writer.field("version", row.version)
        writer.field("created_by", row.createdBy)
        writer.timeField("created_at", row.createdAt)
        writer.timeField("updated_at", row.updatedAt)
        writer.endObject()
    }

    static func json(_ row: RecordRow) -> [UInt8] {
        var writer = JSONWriter(capacity: row.data.utf8.count + 200)
        write(row, into: &writer)
        return writer.bytes
    }

    static func etag(_ version: Int64) -> (name: String, value: String) { ("ETag", "\"\(version)\"") }

    // MARK: Handlers

    static func create(_ request: WorkspaceRequest) throws -> StoreWrite {
        let collection = try collection(request)
        let key = try idempotencyKey(request)
        let dataText = try dataText(request).serializedString
        let workspaceID = request.workspace.workspaceID
        let userID = request.principal.userID
        let now = request.now
        // What a retry with the same Idempotency-Key must match (only needed with a key).
        let requestHash = key == nil ? [] : SHA256Digest.hash(collection + "\n" + dataText)
        return StoreWrite { writer in
            if let key, let prior = try writer.reader.idempotentResponse(
                userID: userID, workspaceID: workspaceID, key: key, notBefore: now - idempotencyWindow) {
                guard prior.requestHash == requestHash else {
                    throw APIError(.idempotencyConflict, "This Idempotency-Key was used with another request.")
                }
                var headers: [(name: String, value: String)] = [("Idempotent-Replayed", "true")]
                if let location = prior.location { headers.append(("Location", location)) }
                headers.append(etag(1))
                return StoreWrite.Outcome(HTTPResponse(status: prior.status, headers: headers,
                                                       body: Array(prior.body.utf8)))
            }
            let row = try writer.insertRecord(workspaceID: workspaceID, collection: collection, data: dataText,
                                              createdBy: userID, now: now)
            let body = json(row)
            let text = String(decoding: body, as: UTF8.self)
            try writer.appendEvent(workspaceID: workspaceID, type: "record.created", data: text, now: now)
            if let key {
                try writer.saveIdempotentResponse(
                    userID: userID, workspaceID: workspaceID, key: key,
                    response: IdempotentResponse(requestHash: requestHash, status: 201,
                                                 location: "/v1/records/\(row.id)", body: text),
                    now: now)
            }
            return StoreWrite.Outcome(HTTPResponse(
                status: 201, headers: [("Location", "/v1/records/\(row.id)"), etag(row.version)], body: body))
        }
    }

    static func list(_ request: ListRequest, reader: StoreReader) throws -> HTTPResponse {
        let collection = try collection(request)
        let limit = try request.query.limit()
        let cursor = try Cursor.decode(request.query, prefix: "r")
        var filters: [RecordFilter] = []
        for pair in request.query.pairs where pair.name.hasPrefix("filter[") {
            guard pair.name.hasSuffix("]"), pair.name.count > 8, pair.name.count <= 72, filters.count < 16 else {
                throw APIError.invalidParameter(pair.name)
            }
            let field = String(pair.name.dropFirst(7).dropLast())
            guard !field.contains("\""), !field.contains("\\") else { throw APIError.invalidParameter(pair.name) }
            filters.append(RecordFilter(field: field, value: pair.value))
        }
        let rows = try reader.records(workspaceIDs: request.scope.ids, collection: collection, before: cursor,
                                      limit: limit + 1, filters: filters)
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { Cursor.encode($0.id, prefix: "r") } : nil
        let size = page.reduce(64) { $0 + $1.data.utf8.count + 220 }
        return Respond.json(capacity: size) { writer in
            writer.beginObject()
            writer.key("data")
            writer.beginArray()
            for row in page { write(row, into: &writer) }
            writer.endArray()
            writer.field("next_cursor", next)
            writer.endObject()
        }
    }

    static func read(_ request: WorkspaceRequest, reader: StoreReader) throws -> HTTPResponse {
        let id = try request.pathID("id")
        guard let row = try reader.record(id: id), row.workspaceID == request.workspace.workspaceID else {
            throw APIError.notFound
        }
        return HTTPResponse(status: 200, headers: [etag(row.version)], body: json(row))
    }

    /// The record a row write acts on, in the workspace the pipeline resolved for it.
    static func current(_ id: Int64, in workspace: ResolvedWorkspace, writer: StoreWriter) throws -> RecordRow {
        guard let row = try writer.reader.record(id: id), row.workspaceID == workspace.workspaceID else {
            throw APIError.notFound
        }
        return row
    }

    static func change(_ request: AccountRequest, merge: Bool) throws -> RowWrite {
        let id = try request.pathID("id")
        let input = try dataText(request, patch: merge)
        let now = request.now
        let ifMatch = request.http.headers.values("if-match")
        return RowWrite { writer, workspace in
            let current = try current(id, in: workspace, writer: writer)
            guard ifMatchAllows(ifMatch, version: current.version) else { throw APIError.preconditionFailed }
            var next = input
            if merge {
                let parsed = try? JSONParser.parse(Array(current.data.utf8), rejectDuplicateKeys: false)
                let stored = parsed ?? .object(JSONObject())
                next = stored.mergePatched(with: input)
                guard case .object = next else {
                    throw APIError.validation(field: "data", "must leave data a JSON object")
                }
            }
            let text = next.serializedString
            guard text.utf8.count <= maxDataBytes else { throw APIError.payloadTooLarge }
            guard let updated = try writer.updateRecord(current, data: text, now: now) else { throw APIError.notFound }
            let body = json(updated)
            try writer.appendEvent(workspaceID: updated.workspaceID, type: "record.updated",
                                   data: String(decoding: body, as: UTF8.self), now: now)
            return StoreWrite.Outcome(HTTPResponse(status: 200, headers: [etag(updated.version)], body: body))
        }
    }

    static func delete(_ request: AccountRequest) throws -> RowWrite {
        let id = try request.pathID("id")
        let now = request.now
        let ifMatch = request.http.headers.values("if-match")
        return RowWrite { writer, workspace in
            let current = try current(id, in: workspace, writer: writer)
            guard ifMatchAllows(ifMatch, version: current.version) else { throw APIError.preconditionFailed }
            _ = try writer.deleteRecord(id: id)
            try writer.appendEvent(workspaceID: current.workspaceID, type: "record.deleted",
                                   data: String(decoding: json(current), as: UTF8.self), now: now)
            return StoreWrite.Outcome(Respond.noContent())
        }
    }
}
