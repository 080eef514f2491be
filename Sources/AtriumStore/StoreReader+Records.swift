
extension StoreReader {
    static let recordColumns = "id, workspace_id, collection, data, version, created_by, created_at, updated_at"

    public func record(id: Int64) throws(SQLError) -> RecordRow? {
        let statement = try connection.prepare("SELECT \(Self.recordColumns) FROM records WHERE id = ?")
        try statement.bind(id, at: 1)
        defer { statement.reset() }
        return try statement.step() ? Self.record(statement) : nil
    }

    /// Most fan-out subqueries in one statement (SQLite allows 500 compound terms).
    static let fanOutChunk = 128

    /// Up to this many workspaces, a page merges one index range per workspace.
    static let mergeThreshold = 8
    /// Index entries a dense walk reads before it hands the rest of the page to the merge.
    static let denseWalkBudget = 512

    /// A page of one collection across `workspaceIDs`, newest first, ids below `cursor`.
    ///
    /// Few workspaces (or filters): SQLite merges one ordered index range per workspace.
    /// Many workspaces: walk the collection's newest ids on a covering index and keep those of
    /// the caller's workspaces — a cost set by `limit` and by how dense the caller's rows are,
    /// not by how many workspaces there are. Only when that walk is sparse (its budget spent
    /// before the page fills) does the rest of the page fall back to the merge.
    public func records(workspaceIDs: [Int64], collection: String, before cursor: Int64?, limit: Int,
                        filters: [RecordFilter]) throws(SQLError) -> [RecordRow] {
        guard !workspaceIDs.isEmpty else { return [] }
        if workspaceIDs.count <= Self.mergeThreshold || !filters.isEmpty {
            return try mergedRecords(workspaceIDs: workspaceIDs, collection: collection, before: cursor, limit: limit,
                                     filters: filters)
        }
        let wanted = Set(workspaceIDs)
        var ids: [Int64] = []
        var scanned = 0
        var last = cursor ?? Int64.max
        do {
            let walk = try connection.prepare("""
                SELECT id, workspace_id FROM records\(connection.dialect.indexHint("records_by_collection_id"))
                WHERE collection = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3
                """)
            defer { walk.reset() }
            try walk.bind(collection, at: 1)
            try walk.bind(last, at: 2)
            try walk.bind(Int64(Self.denseWalkBudget), at: 3)
            while try walk.step() {
                scanned += 1
                last = walk.int64(0)
                if wanted.contains(walk.int64(1)) {
                    ids.append(last)
                    if ids.count == limit { break }
                }
            }
        }
        var rows: [RecordRow] = []
        rows.reserveCapacity(limit)
        for id in ids {
            if let row = try record(id: id), wanted.contains(row.workspaceID) { rows.append(row) }
        }
        if rows.count < limit && scanned == Self.denseWalkBudget {
            rows += try mergedRecords(workspaceIDs: workspaceIDs, collection: collection, before: last,
                                      limit: limit - rows.count, filters: filters)
        }
        return rows
    }

    /// The merge of per-workspace index ranges (see `records`).
    func mergedRecords(workspaceIDs: [Int64], collection: String, before cursor: Int64?, limit: Int,
                       filters: [RecordFilter]) throws(SQLError) -> [RecordRow] {
        if workspaceIDs.count > Self.fanOutChunk {
            var merged: [RecordRow] = []
            var start = 0
            while start < workspaceIDs.count {
                let chunk = Array(workspaceIDs[start..<min(start + Self.fanOutChunk, workspaceIDs.count)])
                merged += try mergedRecords(workspaceIDs: chunk, collection: collection, before: cursor, limit: limit,
                                            filters: filters)
                start += Self.fanOutChunk
            }
            return Array(merged.sorted { $0.id > $1.id }.prefix(limit))
        }
        // Round the number of terms up to a power of two (padding with workspace 0, which
        // holds nothing) so the statement cache holds a handful of shapes, not one per count.
        var terms = 1
        while terms < workspaceIDs.count { terms *= 2 }
        var filterSQL = ""
        for index in filters.indices {
            filterSQL += " AND " + connection.dialect.jsonField("data", named: "?\(4 + index * 2)",
                                                                 equals: "?\(5 + index * 2)")
        }
        let firstWorkspaceParameter = 4 + filters.count * 2
        // Each term is an index range of (workspace_id, collection, id), already in id order,
        // so SQLite merges the terms (MERGE (UNION ALL)) without sorting and stops at LIMIT.
        func term(_ parameter: Int) -> String {
            "SELECT \(Self.recordColumns) FROM records WHERE workspace_id = ?\(parameter) AND collection = ?1"
                + " AND id < ?2\(filterSQL)"
        }
        let sql = (0..<terms).map { term(firstWorkspaceParameter + $0) }.joined(separator: " UNION ALL ")
            + " ORDER BY id DESC LIMIT ?3"
        let statement = try connection.prepare(sql)
        defer { statement.reset() }
        try statement.bind(collection, at: 1)
        try statement.bind(cursor ?? Int64.max, at: 2)
        try statement.bind(Int64(limit), at: 3)
        for (index, filter) in filters.enumerated() {
            try statement.bind(filter.field, at: Int32(4 + index * 2))
            try statement.bind(filter.value, at: Int32(5 + index * 2))
        }
        for index in 0..<terms {
            let id = index < workspaceIDs.count ? workspaceIDs[index] : 0
            try statement.bind(id, at: Int32(firstWorkspaceParameter + index))
        }
        var rows: [RecordRow] = []
        rows.reserveCapacity(limit)
        while try statement.step() { rows.append(Self.record(statement)) }
        return rows
    }

    static func record(_ s: SQLStatement) -> RecordRow {
        RecordRow(id: s.int64(0), workspaceID: s.int64(1), collection: s.string(2) ?? "", data: s.string(3) ?? "{}",
                  version: s.int64(4), createdBy: s.int64(5), createdAt: s.int64(6), updatedAt: s.int64(7))
    }

    /// The stored first response for an idempotency key, if it is younger than `notBefore`.
    public func idempotentResponse(userID: Int64, workspaceID: Int64, key: String, notBefore: Int64)
        throws(SQLError) -> IdempotentResponse?
    {
        let statement = try connection.prepare("""
            SELECT request_hash, status, location, body FROM idempotency_keys
            WHERE user_id = ? AND workspace_id = ? AND key = ? AND created_at >= ?
            """)
        try statement.bind(userID, at: 1)
        try statement.bind(workspaceID, at: 2)
        try statement.bind(key, at: 3)
        try statement.bind(notBefore, at: 4)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return IdempotentResponse(requestHash: statement.blob(0) ?? [], status: Int(statement.int64(1)),
                                  location: statement.string(2), body: statement.string(3) ?? "")
    }
}

extension StoreWriter {
    public func insertRecord(workspaceID: Int64, collection: String, data: String, createdBy: Int64, now: Int64)
        throws(SQLError) -> RecordRow
    {
        let statement = try connection.prepare("""
            INSERT INTO records (workspace_id, collection, data, version, created_by, created_at, updated_at)
            VALUES (?, ?, ?, 1, ?, ?, ?) RETURNING id
            """)
        defer { statement.reset() }
        try statement.bind(workspaceID, at: 1)
        try statement.bind(collection, at: 2)
        try statement.bind(data, at: 3)
        try statement.bind(createdBy, at: 4)
        try statement.bind(now, at: 5)
        try statement.bind(now, at: 6)
        guard try statement.step() else {
            throw SQLError(.other, message: "INSERT … RETURNING id returned no row", sql: nil)
        }
        let id = statement.int64(0)
        try statement.runToCompletion()
        return RecordRow(id: id, workspaceID: workspaceID, collection: collection, data: data,
                         version: 1, createdBy: createdBy, createdAt: now, updatedAt: now)
    }

    /// Replaces `data` and bumps the version; nil when the row is gone.
    public func updateRecord(_ row: RecordRow, data: String, now: Int64) throws(SQLError) -> RecordRow? {
        try connection.run("UPDATE records SET data = ?, version = version + 1, updated_at = ?"
                               + " WHERE id = ? AND version = ?",
                           [.text(data), .integer(now), .integer(row.id), .integer(row.version)])
        guard connection.changes == 1 else { return nil }
        return RecordRow(id: row.id, workspaceID: row.workspaceID, collection: row.collection, data: data,
                         version: row.version + 1, createdBy: row.createdBy, createdAt: row.createdAt, updatedAt: now)
    }

    public func deleteRecord(id: Int64) throws(SQLError) -> Bool {
        try connection.run("DELETE FROM records WHERE id = ?", [.integer(id)])
        return connection.changes == 1
    }

    public func saveIdempotentResponse(userID: Int64, workspaceID: Int64, key: String, response: IdempotentResponse,
                                       now: Int64) throws(SQLError) {
        try connection.run("""
            INSERT INTO idempotency_keys
              (user_id, workspace_id, key, request_hash, status, location, body, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (user_id, workspace_id, key) DO UPDATE SET
              request_hash = excluded.request_hash, status = excluded.status, location = excluded.location,
              body = excluded.body, created_at = excluded.created_at
            """,
            [.integer(userID), .integer(workspaceID), .text(key), .blob(response.requestHash),
             .integer(Int64(response.status)), response.location.map(SQLValue.text) ?? .null, .text(response.body),
             .integer(now)])
    }

    /// Forgets idempotency keys older than `before`.
    public func purgeIdempotencyKeys(before: Int64) throws(SQLError) {
        try connection.run("DELETE FROM idempotency_keys WHERE created_at < ?", [.integer(before)])
        try connection.run("DELETE FROM account_idempotency_keys WHERE created_at < ?", [.integer(before)])
    }

    /// Writes an event to the outbox, in the caller's transaction (docs/events.md).
    public func appendEvent(workspaceID: Int64, type: String, data: String, now: Int64) throws(SQLError) {
        let statement = try connection.prepare(
            "INSERT INTO outbox (workspace_id, event_type, data, created_at) VALUES (?, ?, ?, ?)")
        defer { statement.reset() }
        try statement.bind(workspaceID, at: 1)
        try statement.bind(type, at: 2)
        try statement.bind(data, at: 3)
        try statement.bind(now, at: 4)
        _ = try statement.step()
        connection.requestCommitNotification()
    }
}
