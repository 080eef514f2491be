import AtriumSQLite

extension StoreWriter {
    public func insertWebhook(workspaceID: Int64, url: String, description: String?, events: [String],
                              fields: [String]?, active: Bool, secret: String, createdBy: Int64, now: Int64)
        throws -> WebhookRow
    {
        try connection.run("""
            INSERT INTO webhooks (workspace_id, url, description, events, fields, active, secret, created_by, created_at,
                                  updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(workspaceID), .text(url), description.map(SQLiteValue.text) ?? .null,
             .text(StoreReader.jsonArray(events)), fields.map { .text(StoreReader.jsonArray($0)) } ?? .null,
             .integer(active ? 1 : 0), .text(secret), .integer(createdBy), .integer(now), .integer(now)])
        guard let row = try reader.webhook(id: connection.lastInsertRowID) else { throw StoreError.notFound }
        return row
    }

    /// Writes every mutable column of `row` (url, description, events, fields, active, the
    /// disabled reason, the secrets) and stamps `updated_at`.
    public func updateWebhook(_ row: WebhookRow, now: Int64) throws(SQLiteError) {
        try connection.run("""
            UPDATE webhooks SET url = ?, description = ?, events = ?, fields = ?, active = ?, disabled_reason = ?,
                   secret = ?, previous_secret = ?, previous_secret_expires_at = ?, secret_rotated_at = ?, updated_at = ?
            WHERE id = ?
            """,
            [.text(row.url), row.description.map(SQLiteValue.text) ?? .null, .text(StoreReader.jsonArray(row.events)),
             row.fields.map { .text(StoreReader.jsonArray($0)) } ?? .null, .integer(row.active ? 1 : 0),
             row.disabledReason.map(SQLiteValue.text) ?? .null, .text(row.secret),
             row.previousSecret.map(SQLiteValue.text) ?? .null,
             row.previousSecretExpiresAt.map(SQLiteValue.integer) ?? .null,
             row.secretRotatedAt.map(SQLiteValue.integer) ?? .null, .integer(now), .integer(row.id)])
    }

    /// Deletes an endpoint and (by cascade) its deliveries.
    public func deleteWebhook(id: Int64) throws(SQLiteError) {
        try connection.run("DELETE FROM webhooks WHERE id = ?", [.integer(id)])
    }

    // MARK: The dispatcher's writes

    /// A pending attempt; returns its id.
    public func insertDelivery(webhookID: Int64, eventID: Int64, eventType: String, attempt: Int, dueAt: Int64,
                               now: Int64) throws(SQLiteError) -> Int64 {
        let statement = try connection.prepare("""
            INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status, created_at, next_attempt_at)
            VALUES (?, ?, ?, ?, 'pending', ?, ?)
            """)
        defer { statement.reset() }
        try statement.bind(webhookID, at: 1)
        try statement.bind(eventID, at: 2)
        try statement.bind(eventType, at: 3)
        try statement.bind(Int64(attempt), at: 4)
        try statement.bind(now, at: 5)
        try statement.bind(dueAt, at: 6)
        _ = try statement.step()
        return connection.lastInsertRowID
    }

    /// A first attempt, unless the endpoint was deleted or turned off since it was matched.
    /// Returns whether it was inserted.
    public func insertDeliveryIfActive(webhookID: Int64, eventID: Int64, eventType: String, dueAt: Int64, now: Int64)
        throws(SQLiteError) -> Bool
    {
        let statement = try connection.prepare("""
            INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status, created_at, next_attempt_at)
            SELECT ?1, ?2, ?3, 1, 'pending', ?4, ?5 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?1 AND active = 1)
            """)
        defer { statement.reset() }
        try statement.bind(webhookID, at: 1)
        try statement.bind(eventID, at: 2)
        try statement.bind(eventType, at: 3)
        try statement.bind(now, at: 4)
        try statement.bind(dueAt, at: 5)
        _ = try statement.step()
        return connection.changes == 1
    }

    public func setOutboxPosition(_ lastID: Int64) throws(SQLiteError) {
        try connection.run("INSERT OR REPLACE INTO outbox_position (name, last_id) VALUES ('webhooks', ?)",
                           [.integer(lastID)])
    }

    /// Records a finished attempt: its result, and the next attempt when there is one. Returns
    /// the next attempt's id (nil when none, or when the attempt's row is gone because its
    /// endpoint was deleted meanwhile).
    public func recordOutcome(_ outcome: DeliveryOutcome, now: Int64) throws(SQLiteError) -> Int64? {
        let statement = try connection.prepare("""
            UPDATE webhook_deliveries SET status = ?, response_status = ?, error = ?, duration_ms = ?,
                   next_attempt_at = ? WHERE id = ? AND status = 'pending'
            """)
        defer { statement.reset() }
        try statement.bind(outcome.succeeded ? "succeeded" : "failed", at: 1)
        if let status = outcome.responseStatus { try statement.bind(Int64(status), at: 2) } else { try statement.bindNull(at: 2) }
        if let error = outcome.error { try statement.bind(error, at: 3) } else { try statement.bindNull(at: 3) }
        try statement.bind(outcome.durationMilliseconds, at: 4)
        if let retryAt = outcome.retryAt { try statement.bind(retryAt, at: 5) } else { try statement.bindNull(at: 5) }
        try statement.bind(outcome.deliveryID, at: 6)
        _ = try statement.step()
        guard connection.changes == 1 else { return nil }
        if let reason = outcome.disableReason {
            try connection.run("UPDATE webhooks SET active = 0, disabled_reason = ?, updated_at = ? WHERE id = ?",
                               [.text(reason), .integer(now), .integer(outcome.webhookID)])
        }
        guard let retryAt = outcome.retryAt else { return nil }
        return try insertDelivery(webhookID: outcome.webhookID, eventID: outcome.eventID, eventType: outcome.eventType,
                                  attempt: outcome.attempt + 1, dueAt: retryAt, now: now)
    }

    /// Gives up a pending attempt without sending it (its endpoint was turned off).
    public func cancelDelivery(id: Int64, reason: String) throws(SQLiteError) {
        try connection.run("""
            UPDATE webhook_deliveries SET status = 'failed', error = ?, next_attempt_at = NULL
            WHERE id = ? AND status = 'pending'
            """, [.text(reason), .integer(id)])
    }

    /// Forgets up to `limit` routed events and up to `limit` finished attempts older than
    /// `before`; returns how many rows went. Ids grow with time, so the oldest rows sit at the
    /// start of each primary key and no time index is needed (callers repeat until it is < limit).
    public func purgeEvents(before: Int64, limit: Int) throws(SQLiteError) -> Int {
        let position = try reader.outboxPosition()
        try connection.run("""
            DELETE FROM outbox WHERE id IN
              (SELECT id FROM outbox WHERE id <= ? AND created_at < ? ORDER BY id LIMIT ?)
            """, [.integer(position), .integer(before), .integer(Int64(limit))])
        var removed = connection.changes
        try connection.run("""
            DELETE FROM webhook_deliveries WHERE id IN
              (SELECT id FROM webhook_deliveries WHERE created_at < ? AND status != 'pending' ORDER BY id LIMIT ?)
            """, [.integer(before), .integer(Int64(limit))])
        removed += connection.changes
        return removed
    }
}
