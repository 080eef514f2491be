
extension StoreWriter {
    public func insertWebhook(workspaceID: Int64, url: String, description: String?, events: [String],
                              fields: [String]?, active: Bool, secret: String, createdBy: Int64, now: Int64)
        throws -> WebhookRow
    {
        // The cursor starts at the newest event: an endpoint receives what happens after it exists.
        let id = try connection.insert("""
            INSERT INTO webhooks (workspace_id, url, description, events, fields, active, secret, created_by,
                                  created_at, updated_at, cursor)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(\(connection.dialect.eventKey)), 0) FROM outbox))
            """,
            [.integer(workspaceID), .text(url), description.map(SQLValue.text) ?? .null,
             .text(StoreReader.jsonArray(events)), fields.map { .text(StoreReader.jsonArray($0)) } ?? .null,
             .integer(active ? 1 : 0), .text(secret), .integer(createdBy), .integer(now), .integer(now)])
        guard let row = try reader.webhook(id: id) else { throw StoreError.notFound }
        return row
    }

    /// Writes every mutable column of `row` (url, description, events, fields, active, the
    /// disabled reason, the secrets) and stamps `updated_at`. `reactivated` moves the cursor to
    /// the newest event, so an endpoint turned back on does not replay what it missed.
    public func updateWebhook(_ row: WebhookRow, now: Int64, reactivated: Bool = false) throws(SQLError) {
        let key = connection.dialect.eventKey
        if reactivated {
            try connection.run(
                "UPDATE webhooks SET cursor = (SELECT COALESCE(MAX(\(key)), 0) FROM outbox) WHERE id = ?",
                [.integer(row.id)])
        }
        if !row.active {
            try cancelPendingDeliveries(webhookID: row.id, reason: "endpoint disabled")
        }
        try connection.run("""
            UPDATE webhooks SET url = ?, description = ?, events = ?, fields = ?, active = ?, disabled_reason = ?,
                   secret = ?, previous_secret = ?, previous_secret_expires_at = ?, secret_rotated_at = ?,
                   updated_at = ?
            WHERE id = ?
            """,
            [.text(row.url), row.description.map(SQLValue.text) ?? .null, .text(StoreReader.jsonArray(row.events)),
             row.fields.map { .text(StoreReader.jsonArray($0)) } ?? .null, .integer(row.active ? 1 : 0),
             row.disabledReason.map(SQLValue.text) ?? .null, .text(row.secret),
             row.previousSecret.map(SQLValue.text) ?? .null,
             row.previousSecretExpiresAt.map(SQLValue.integer) ?? .null,
             row.secretRotatedAt.map(SQLValue.integer) ?? .null, .integer(now), .integer(row.id)])
    }

    /// Deletes an endpoint and (by cascade) its deliveries.
    public func deleteWebhook(id: Int64) throws(SQLError) {
        try connection.run("DELETE FROM webhooks WHERE id = ?", [.integer(id)])
    }

    // MARK: The dispatcher's writes

    /// A pending attempt; returns its id (the existing row's when that attempt is already
    /// recorded: one row per attempt, migrations 0011).
    public func insertDelivery(webhookID: Int64, eventID: Int64, eventType: String, attempt: Int, dueAt: Int64,
                               now: Int64) throws(SQLError) -> Int64 {
        let statement = try connection.prepare("""
            INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status, created_at,
                                            next_attempt_at)
            VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (webhook_id, event_id, attempt) DO NOTHING RETURNING id
            """)
        defer { statement.reset() }
        try statement.bind(webhookID, at: 1)
        try statement.bind(eventID, at: 2)
        try statement.bind(eventType, at: 3)
        try statement.bind(Int64(attempt), at: 4)
        try statement.bind(now, at: 5)
        try statement.bind(dueAt, at: 6)
        guard try statement.step() else {
            let rows = try connection.query(
                "SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ? AND attempt = ?",
                [.integer(webhookID), .integer(eventID), .integer(Int64(attempt))])
            guard case .integer(let existing)? = rows.first?.first else {
                throw SQLError(.other, message: "INSERT … RETURNING id returned no row", sql: nil)
            }
            return existing
        }
        let id = statement.int64(0)
        try statement.runToCompletion()
        return id
    }

    /// Moves an endpoint's cursor forward (never back): its first attempts up to `cursor` are settled.
    public func advanceWebhookCursor(webhookID: Int64, to cursor: Int64) throws(SQLError) {
        let statement = try connection.prepare("UPDATE webhooks SET cursor = ?1 WHERE id = ?2 AND cursor < ?1")
        defer { statement.reset() }
        try statement.bind(cursor, at: 1)
        try statement.bind(webhookID, at: 2)
        _ = try statement.step()
    }

    /// Records a finished attempt: its result (updating a retry's pending row, or adding the
    /// row of a first attempt), and the next attempt when there is one. Returns the next
    /// attempt's id (nil when none, when the endpoint was deleted meanwhile, or when this
    /// attempt is already recorded: a write-back made twice records it once).
    public func recordOutcome(_ outcome: DeliveryOutcome, now: Int64) throws(SQLError) -> Int64? {
        let statement: SQLStatement
        if let deliveryID = outcome.deliveryID {
            statement = try connection.prepare("""
                UPDATE webhook_deliveries SET status = ?1, response_status = ?2, error = ?3, duration_ms = ?4,
                       next_attempt_at = ?5 WHERE id = ?6 AND status = 'pending'
                """)
            try statement.bind(deliveryID, at: 6)
        } else {
            statement = try connection.prepare("""
                INSERT INTO webhook_deliveries (status, response_status, error, duration_ms, next_attempt_at,
                                                webhook_id, event_id, event_type, attempt, created_at)
                SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?6)
                ON CONFLICT (webhook_id, event_id, attempt) DO NOTHING
                """)
            try statement.bind(outcome.webhookID, at: 6)
            try statement.bind(outcome.eventID, at: 7)
            try statement.bind(outcome.eventType, at: 8)
            try statement.bind(outcome.attemptedAt, at: 9)
        }
        defer { statement.reset() }
        try statement.bind(outcome.succeeded ? "succeeded" : "failed", at: 1)
        if let status = outcome.responseStatus {
            try statement.bind(Int64(status), at: 2)
        } else {
            try statement.bindNull(at: 2)
        }
        if let error = outcome.error { try statement.bind(error, at: 3) } else { try statement.bindNull(at: 3) }
        try statement.bind(outcome.durationMilliseconds, at: 4)
        if let retryAt = outcome.retryAt { try statement.bind(retryAt, at: 5) } else { try statement.bindNull(at: 5) }
        _ = try statement.step()
        guard connection.changes == 1 else { return nil }
        if let reason = outcome.disableReason {
            try connection.run("UPDATE webhooks SET active = 0, disabled_reason = ?, updated_at = ? WHERE id = ?",
                               [.text(reason), .integer(now), .integer(outcome.webhookID)])
            try cancelPendingDeliveries(webhookID: outcome.webhookID, reason: "endpoint disabled")
        }
        guard let retryAt = outcome.retryAt else { return nil }
        return try insertDelivery(webhookID: outcome.webhookID, eventID: outcome.eventID, eventType: outcome.eventType,
                                  attempt: outcome.attempt + 1, dueAt: retryAt, now: now)
    }

    /// Gives up every scheduled retry of an endpoint (it was turned off).
    public func cancelPendingDeliveries(webhookID: Int64, reason: String) throws(SQLError) {
        try connection.run("""
            UPDATE webhook_deliveries SET status = 'failed', error = ?, next_attempt_at = NULL
            WHERE webhook_id = ? AND status = 'pending'
            """, [.text(reason), .integer(webhookID)])
    }

    /// Gives up a pending attempt without sending it (its event is gone).
    public func cancelDelivery(id: Int64, reason: String) throws(SQLError) {
        try connection.run("""
            UPDATE webhook_deliveries SET status = 'failed', error = ?, next_attempt_at = NULL
            WHERE id = ? AND status = 'pending'
            """, [.text(reason), .integer(id)])
    }

    /// Forgets up to `limit` events older than `before` that every active endpoint is past and
    /// no pending retry still needs (in id order, so the events kept are always one unbroken
    /// range: `GET /v1/events` can tell a lost position by the first id kept), and up to `limit`
    /// finished attempts older than `before`; returns how many rows went.
    /// Ids grow with time, so the oldest rows sit at the start of each primary key and no time
    /// index is needed (callers repeat until it is < limit).
    public func purgeEvents(before: Int64, limit: Int) throws(SQLError) -> Int {
        let key = connection.dialect.eventKey
        let rows = try connection.query("""
            SELECT COALESCE((SELECT MIN(cursor) FROM webhooks WHERE active = 1),
                            (SELECT COALESCE(MAX(\(key)), 0) FROM outbox))
            """)
        guard case .integer(let position) = rows.first?.first else { return 0 }
        try connection.run("""
            DELETE FROM outbox WHERE id IN
              (SELECT id FROM outbox WHERE \(key) <= ? AND created_at < ?
                 AND \(key) < COALESCE((SELECT MIN(event_id) FROM webhook_deliveries WHERE status = 'pending'), 9e18)
               ORDER BY \(key) LIMIT ?)
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
