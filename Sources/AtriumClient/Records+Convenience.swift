import Foundation

extension Records {
    /// Creates a record. Retried safely: the SDK sends an `Idempotency-Key` (`options` may name
    /// it) and repeats it on every attempt, so a lost answer never makes a second record.
    @discardableResult
    public func create(in collection: String, data: JSONObject, options: RequestOptions = RequestOptions())
        async throws -> Record
    {
        try await createRecord(collection: collection, RecordData(data: data), options: options)
    }

    /// One record (its workspace comes from the row; `options.workspace` only when you name one).
    public func get(_ id: Int64, options: RequestOptions = RequestOptions()) async throws -> Record {
        try await getRecord(id: id, options: options)
    }

    /// The records of a collection, newest first; with `workspaces`, several workspaces merged
    /// (each record keeps its `workspaceId`).
    public func list(_ collection: String, filter: [String: String] = [:], workspaces: FanOut? = nil,
                     pageSize: Int? = nil, options: RequestOptions = RequestOptions()) -> Paginator<Record> {
        listRecords(collection: collection, workspaces: workspaces, filter: filter, pageSize: pageSize,
                    options: options)
    }

    /// Merge-patches `data` (RFC 7396); with `ifMatch`, only at that version (else 412).
    @discardableResult
    public func update(_ id: Int64, merge: JSONObject, ifMatch: ETag? = nil,
                       options: RequestOptions = RequestOptions()) async throws -> Record {
        try await updateRecord(id: id, RecordData(data: merge), ifMatch: ifMatch, options: options)
    }

    /// Replaces `data`; with `ifMatch`, only at that version (else 412).
    @discardableResult
    public func replace(_ id: Int64, data: JSONObject, ifMatch: ETag? = nil,
                        options: RequestOptions = RequestOptions()) async throws -> Record {
        try await replaceRecord(id: id, RecordData(data: data), ifMatch: ifMatch, options: options)
    }

    /// Deletes a record; with `ifMatch`, only at that version.
    public func delete(_ id: Int64, ifMatch: ETag? = nil, options: RequestOptions = RequestOptions()) async throws {
        try await deleteRecord(id: id, ifMatch: ifMatch, options: options)
    }

    /// Read-modify-write without losing a concurrent change: reads the record, applies `change`
    /// to its data and writes it back with `If-Match`; a `412` (someone wrote in between)
    /// starts over, up to `attempts` times.
    @discardableResult
    public func modify(_ id: Int64, attempts: Int = 5, options: RequestOptions = RequestOptions(),
                       _ change: @Sendable (inout JSONObject) throws -> Void) async throws -> Record {
        var remaining = attempts
        while true {
            let current = try await getRecord(id: id, options: options)
            var data = current.data
            try change(&data)
            // One attempt: after a lost answer a repeated write would see 412 and apply `change` twice.
            var once = options
            once.maxRetries = 0
            do {
                return try await replaceRecord(id: id, RecordData(data: data), ifMatch: current.etag, options: once)
            } catch let error as AtriumError where error.code == .preconditionFailed && remaining > 1 {
                remaining -= 1
            }
        }
    }
}

extension Members {
    /// Changes a member's role (`admin`, `editor` or `viewer`).
    @discardableResult
    public func changeRole(in workspace: Int64, member: Int64, to role: String) async throws -> Member {
        try await changeMemberRole(workspace: workspace, memberId: member, RoleChange(role: role))
    }
}

extension Auth {
    /// Ends this client's session (`POST /v1/auth/logout`) and forgets its tokens.
    public func logoutSession() async throws {
        try await logout()
        await client.session?.end()
    }
}
