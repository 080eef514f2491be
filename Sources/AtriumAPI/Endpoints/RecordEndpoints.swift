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
        let scoped = ["INVALID_WORKSPACE_HEADER", "INVALID_WORKSPACE_ID", "WORKSPACE_MISMATCH", "WORKSPACE_REQUIRED",
                      "NO_MAIN_WORKSPACE", "CROSS_TENANT_WORKSPACE", "PERMISSION_DENIED", "INVALID_PARAMETER"]
        let row = ["INVALID_WORKSPACE_HEADER", "INVALID_WORKSPACE_ID", "PERMISSION_DENIED", "NOT_FOUND", "INVALID_PARAMETER"]
        return [
            Endpoint(.post, "/v1/collections/{collection}/records", access: .anyCredential,
                     scope: .selected(.contentWrite),
                     documentation: .init("Create a record in the resolved workspace", success: 201,
                                          errors: scoped + ["VALIDATION_FAILED", "INVALID_JSON", "PAYLOAD_TOO_LARGE",
                                                            "IDEMPOTENCY_CONFLICT"],
                                          operationID: "createRecord", request: .ref("RecordData"), response: .ref("Record"), parameters: [.idempotencyKey], links: [OperationLink("GetRecord", to: "getRecord", [("id", "$response.body#/id")]), OperationLink("UpdateRecord", to: "updateRecord", [("id", "$response.body#/id")]), OperationLink("ReplaceRecord", to: "replaceRecord", [("id", "$response.body#/id")]), OperationLink("DeleteRecord", to: "deleteRecord", [("id", "$response.body#/id")])]),
                     writing: create),
            Endpoint(.get, "/v1/collections/{collection}/records", access: .anyCredential,
                     scope: .selectedOrFanOut(.contentRead),
                     documentation: .init("A page of records, newest first; fan-out with workspaces=", errors: scoped,
                                          operationID: "listRecords", response: .page(of: .ref("Record")), parameters: [.recordFilter], paginated: true),
                     reading: list),
            Endpoint(.get, "/v1/records/{id}", access: .anyCredential, scope: .row,
                     documentation: .init("One record", errors: row,
                                          operationID: "getRecord", response: .ref("Record")), reading: read),
            Endpoint(.patch, "/v1/records/{id}", access: .anyCredential, scope: .row,
                     documentation: .init("Merge-patch a record's data (RFC 7396)",
                                          errors: row + ["VALIDATION_FAILED", "INVALID_JSON", "PAYLOAD_TOO_LARGE",
                                                         "PRECONDITION_FAILED"],
                                          operationID: "updateRecord", request: .ref("RecordData"), response: .ref("Record"), parameters: [.ifMatch]),
                     writing: { request in try change(&request, merge: true) }),
            Endpoint(.put, "/v1/records/{id}", access: .anyCredential, scope: .row,
                     documentation: .init("Replace a record's data",
                                          errors: row + ["VALIDATION_FAILED", "INVALID_JSON", "PAYLOAD_TOO_LARGE",
                                                         "PRECONDITION_FAILED"],
                                          operationID: "replaceRecord", request: .ref("RecordData"), response: .ref("Record"), parameters: [.ifMatch]),
                     writing: { request in try change(&request, merge: false) }),
            Endpoint(.delete, "/v1/records/{id}", access: .anyCredential, scope: .row,
                     documentation: .init("Delete a record", success: 204, errors: row + ["PRECONDITION_FAILED"],
                                          operationID: "deleteRecord", parameters: [.ifMatch]),
                     writing: delete),
        ]
    }

    // MARK: Inputs

    /// `^[a-z][a-z0-9_]{0,63}$`, else 400 INVALID_PARAMETER.
    static func collection(_ request: APIRequest) throws(APIError) -> String {
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
    static func dataText(_ request: APIRequest, patch: Bool = false) throws -> JSONValue {
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

    static func idempotencyKey(_ request: APIRequest) throws(APIError) -> String? {
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

    static func create(_ request: inout APIRequest) throws -> StoreWrite {
        let collection = try collection(request)
        let key = try idempotencyKey(request)
        let dataText = try dataText(request).serializedString
        let workspaceID = request.resolved.workspaceID
        let userID = request.caller.userID
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
                return StoreWrite.Outcome(HTTPResponse(status: prior.status, headers: headers, body: Array(prior.body.utf8)))
            }
            let row = try writer.insertRecord(workspaceID: workspaceID, collection: collection, data: dataText,
                                              createdBy: userID, now: now)
            let body = json(row)
            let text = String(decoding: body, as: UTF8.self)
            try writer.appendEvent(workspaceID: workspaceID, type: "record.created", data: text, now: now)
            if let key {
                try writer.saveIdempotentResponse(
                    userID: userID, workspaceID: workspaceID, key: key,
                    response: IdempotentResponse(requestHash: requestHash, status: 201, location: "/v1/records/\(row.id)",
                                                 body: text), now: now)
            }
            return StoreWrite.Outcome(HTTPResponse(
                status: 201, headers: [("Location", "/v1/records/\(row.id)"), etag(row.version)], body: body))
        }
    }

    static func list(_ request: inout APIRequest, reader: StoreReader) throws -> HTTPResponse {
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
        let workspaceIDs = request.fanOut.map { $0.map(\.workspaceID) } ?? [request.resolved.workspaceID]
        let rows = try reader.records(workspaceIDs: workspaceIDs, collection: collection, before: cursor,
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

    static func read(_ request: inout APIRequest, reader: StoreReader) throws -> HTTPResponse {
        let id = try request.pathID("id")
        guard let row = try reader.record(id: id) else { throw APIError.notFound }
        try request.authorizeRow(workspaceID: row.workspaceID, needs: .contentRead, reader: reader)
        return HTTPResponse(status: 200, headers: [etag(row.version)], body: json(row))
    }

    static func change(_ request: inout APIRequest, merge: Bool) throws -> StoreWrite {
        let id = try request.pathID("id")
        let input = try dataText(request, patch: merge)
        let principal = request.caller
        let selector = request.selector
        let now = request.now
        let ifMatch = request.http.headers.values("if-match")
        return StoreWrite { writer in
            guard let current = try writer.reader.record(id: id) else { throw APIError.notFound }
            let resolved = try WorkspaceResolver.resolveRow(
                principal: principal, rowWorkspaceID: current.workspaceID, selector: selector, needs: .contentWrite,
                lookup: StoreTenancyLookup(reader: writer.reader))
            guard ifMatchAllows(ifMatch, version: current.version) else { throw APIError.preconditionFailed }
            var next = input
            if merge {
                let stored = (try? JSONParser.parse(Array(current.data.utf8), rejectDuplicateKeys: false)) ?? .object(JSONObject())
                next = stored.mergePatched(with: input)
                guard case .object = next else { throw APIError.validation(field: "data", "must leave data a JSON object") }
            }
            let text = next.serializedString
            guard text.utf8.count <= maxDataBytes else { throw APIError.payloadTooLarge }
            guard let updated = try writer.updateRecord(current, data: text, now: now) else { throw APIError.notFound }
            let body = json(updated)
            try writer.appendEvent(workspaceID: updated.workspaceID, type: "record.updated",
                                   data: String(decoding: body, as: UTF8.self), now: now)
            return StoreWrite.Outcome(HTTPResponse(status: 200, headers: [etag(updated.version)], body: body),
                                      workspace: resolved)
        }
    }

    static func delete(_ request: inout APIRequest) throws -> StoreWrite {
        let id = try request.pathID("id")
        let principal = request.caller
        let selector = request.selector
        let now = request.now
        let ifMatch = request.http.headers.values("if-match")
        return StoreWrite { writer in
            guard let current = try writer.reader.record(id: id) else { throw APIError.notFound }
            let resolved = try WorkspaceResolver.resolveRow(
                principal: principal, rowWorkspaceID: current.workspaceID, selector: selector, needs: .contentWrite,
                lookup: StoreTenancyLookup(reader: writer.reader))
            guard ifMatchAllows(ifMatch, version: current.version) else { throw APIError.preconditionFailed }
            _ = try writer.deleteRecord(id: id)
            try writer.appendEvent(workspaceID: current.workspaceID, type: "record.deleted",
                                   data: String(decoding: json(current), as: UTF8.self), now: now)
            return StoreWrite.Outcome(Respond.noContent(), workspace: resolved)
        }
    }
}
