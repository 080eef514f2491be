import AtriumJSON

extension StoreReader {
    static let webhookColumns = """
        id, workspace_id, url, description, events, fields, active, disabled_reason, secret, previous_secret,
        previous_secret_expires_at, secret_rotated_at, created_by, created_at, updated_at, cursor
        """
    static let deliveryColumns = """
        id, webhook_id, event_id, event_type, attempt, status, response_status, error, duration_ms, created_at,
        next_attempt_at
        """

    public func webhook(id: Int64) throws(SQLError) -> WebhookRow? {
        let statement = try connection.prepare("SELECT \(Self.webhookColumns) FROM webhooks WHERE id = ?")
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        return try statement.step() ? Self.webhook(statement) : nil
    }

    /// A workspace's endpoints, newest first, ids below `cursor`.
    public func webhooks(workspaceID: Int64, before cursor: Int64?, limit: Int) throws(SQLError) -> [WebhookRow] {
        let statement = try connection.prepare("""
            SELECT \(Self.webhookColumns) FROM webhooks WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(workspaceID, at: 1)
        try statement.bind(cursor ?? Int64.max, at: 2)
        try statement.bind(Int64(limit), at: 3)
        var rows: [WebhookRow] = []
        while try statement.step() { rows.append(Self.webhook(statement)) }
        return rows
    }

    /// The active endpoints of a workspace.
    public func activeWebhooks(workspaceID: Int64) throws(SQLError) -> [WebhookRow] {
        let statement = try connection.prepare("""
            SELECT \(Self.webhookColumns) FROM webhooks WHERE workspace_id = ? AND active = 1 ORDER BY id
            """)
        defer { statement.reset() }
        try statement.bind(workspaceID, at: 1)
        var rows: [WebhookRow] = []
        while try statement.step() { rows.append(Self.webhook(statement)) }
        return rows
    }

    /// Every active endpoint (the dispatcher's start-up view).
    public func allActiveWebhooks() throws(SQLError) -> [WebhookRow] {
        let statement = try connection.prepare(
            "SELECT \(Self.webhookColumns) FROM webhooks WHERE active = 1 ORDER BY id")
        defer { statement.reset() }
        var rows: [WebhookRow] = []
        while try statement.step() { rows.append(Self.webhook(statement)) }
        return rows
    }

    public func webhookCount(workspaceID: Int64) throws(SQLError) -> Int {
        let rows = try connection.query("SELECT COUNT(*) FROM webhooks WHERE workspace_id = ?", [.integer(workspaceID)])
        if case .integer(let count) = rows.first?.first { return Int(count) }
        return 0
    }

    /// An endpoint's attempts, newest first, ids below `cursor`.
    public func deliveries(webhookID: Int64, before cursor: Int64?, limit: Int) throws(SQLError) -> [DeliveryRow] {
        let statement = try connection.prepare("""
            SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE webhook_id = ? AND id < ?
            ORDER BY id DESC LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(webhookID, at: 1)
        try statement.bind(cursor ?? Int64.max, at: 2)
        try statement.bind(Int64(limit), at: 3)
        var rows: [DeliveryRow] = []
        while try statement.step() { rows.append(Self.delivery(statement)) }
        return rows
    }

    // MARK: The dispatcher's queries

    /// The newest outbox id (0 when empty).
    public func newestEventID() throws(SQLError) -> Int64 {
        let rows = try connection.query("SELECT COALESCE(MAX(\(connection.dialect.eventKey)), 0) FROM outbox")
        if case .integer(let id) = rows.first?.first { return id }
        return 0
    }

    /// How many events a workspace has after `id`.
    public func eventCount(workspaceID: Int64, after id: Int64) throws(SQLError) -> Int {
        let key = connection.dialect.eventKey
        let rows = try connection.query("SELECT COUNT(*) FROM outbox WHERE workspace_id = ? AND \(key) > ?",
                                        [.integer(workspaceID), .integer(id)])
        if case .integer(let count) = rows.first?.first { return Int(count) }
        return 0
    }

    /// The routing view of one workspace's events after `id`, oldest first: no payload.
    public func workspaceEventHeaders(workspaceID: Int64, after id: Int64, limit: Int) throws(SQLError)
        -> [(id: Int64, type: String)]
    {
        let key = connection.dialect.eventKey
        let statement = try connection.prepare("""
            SELECT \(key), event_type FROM outbox\(connection.dialect.indexHint("outbox_by_workspace"))
            WHERE workspace_id = ? AND \(key) > ?
            ORDER BY \(key) LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(workspaceID, at: 1)
        try statement.bind(id, at: 2)
        try statement.bind(Int64(limit), at: 3)
        var events: [(id: Int64, type: String)] = []
        while try statement.step() { events.append((statement.int64(0), statement.string(1) ?? "")) }
        return events
    }

    /// Outbox events after `id`, oldest first.
    public func outboxEvents(after id: Int64, limit: Int) throws(SQLError) -> [OutboxEvent] {
        let key = connection.dialect.eventKey
        let statement = try connection.prepare("""
            SELECT \(key), workspace_id, event_type, data, created_at FROM outbox WHERE \(key) > ?
            ORDER BY \(key) LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        try statement.bind(Int64(limit), at: 2)
        var events: [OutboxEvent] = []
        while try statement.step() { events.append(Self.event(statement)) }
        return events
    }

    /// The routing view of outbox events after `id`, oldest first: no payload.
    public func outboxHeaders(after id: Int64, limit: Int) throws(SQLError)
        -> [(id: Int64, workspaceID: Int64, type: String, createdAt: Int64)]
    {
        let key = connection.dialect.eventKey
        let statement = try connection.prepare("""
            SELECT \(key), workspace_id, event_type, created_at FROM outbox WHERE \(key) > ?
            ORDER BY \(key) LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        try statement.bind(Int64(limit), at: 2)
        var events: [(id: Int64, workspaceID: Int64, type: String, createdAt: Int64)] = []
        while try statement.step() {
            events.append((statement.int64(0), statement.int64(1), statement.string(2) ?? "", statement.int64(3)))
        }
        return events
    }

    public func outboxEvent(id: Int64) throws(SQLError) -> OutboxEvent? {
        let key = connection.dialect.eventKey
        let statement = try connection.prepare(
            "SELECT \(key), workspace_id, event_type, data, created_at FROM outbox WHERE \(key) = ?")
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        return try statement.step() ? Self.event(statement) : nil
    }

    /// Every endpoint with pending attempts: the earliest due time and how many there are.
    public func pendingDeliverySummary() throws(SQLError) -> [(webhookID: Int64, earliest: Int64, count: Int)] {
        try connection.query("""
            SELECT webhook_id, MIN(next_attempt_at), COUNT(*) FROM webhook_deliveries WHERE status = 'pending'
            GROUP BY webhook_id
            """).compactMap { row in
            guard case .integer(let webhook) = row[0], case .integer(let earliest) = row[1],
                  case .integer(let count) = row[2] else { return nil }
            return (webhook, earliest, Int(count))
        }
    }

    /// An endpoint's pending attempts due by `now`, oldest first, leaving out `excluded` (the
    /// ones already running).
    public func dueDeliveries(webhookID: Int64, now: Int64, excluding excluded: Set<Int64>, limit: Int)
        throws(SQLError) -> [DeliveryRow]
    {
        let pending = connection.dialect.indexHint("webhook_deliveries_pending")
        let statement = try connection.prepare("""
            SELECT \(Self.deliveryColumns) FROM webhook_deliveries\(pending)
            WHERE webhook_id = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(webhookID, at: 1)
        try statement.bind(now, at: 2)
        try statement.bind(Int64(limit + excluded.count), at: 3)
        var rows: [DeliveryRow] = []
        while try statement.step(), rows.count < limit {
            let row = Self.delivery(statement)
            if !excluded.contains(row.id) { rows.append(row) }
        }
        return rows
    }

    /// The earliest due time among an endpoint's pending attempts not in `excluded`.
    public func nextPendingTime(webhookID: Int64, excluding excluded: Set<Int64>) throws(SQLError) -> Int64? {
        let pending = connection.dialect.indexHint("webhook_deliveries_pending")
        let statement = try connection.prepare("""
            SELECT id, next_attempt_at FROM webhook_deliveries\(pending)
            WHERE webhook_id = ? AND status = 'pending' ORDER BY next_attempt_at, id LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(webhookID, at: 1)
        try statement.bind(Int64(excluded.count + 1), at: 2)
        while try statement.step() {
            if !excluded.contains(statement.int64(0)) { return statement.int64(1) }
        }
        return nil
    }

    // MARK: Decoding

    static func webhook(_ s: SQLStatement) -> WebhookRow {
        WebhookRow(
            id: s.int64(0), workspaceID: s.int64(1), url: s.string(2) ?? "", description: s.string(3),
            events: stringArray(s.string(4)) ?? [], fields: stringArray(s.string(5)), active: s.int64(6) != 0,
            disabledReason: s.string(7), secret: s.string(8) ?? "", previousSecret: s.string(9),
            previousSecretExpiresAt: s.isNull(10) ? nil : s.int64(10),
            secretRotatedAt: s.isNull(11) ? nil : s.int64(11),
            createdBy: s.int64(12), createdAt: s.int64(13), updatedAt: s.int64(14), cursor: s.int64(15))
    }

    static func delivery(_ s: SQLStatement) -> DeliveryRow {
        DeliveryRow(
            id: s.int64(0), webhookID: s.int64(1), eventID: s.int64(2), eventType: s.string(3) ?? "",
            attempt: s.int(4), status: DeliveryStatus(rawValue: s.string(5) ?? "") ?? .failed,
            responseStatus: s.isNull(6) ? nil : s.int(6), error: s.string(7),
            durationMilliseconds: s.isNull(8) ? nil : s.int64(8), createdAt: s.int64(9),
            nextAttemptAt: s.isNull(10) ? nil : s.int64(10))
    }

    static func event(_ s: SQLStatement) -> OutboxEvent {
        OutboxEvent(id: s.int64(0), workspaceID: s.int64(1), type: s.string(2) ?? "", data: s.string(3) ?? "{}",
                    createdAt: s.int64(4))
    }

    /// A stored JSON array of strings; nil for NULL.
    static func stringArray(_ text: String?) -> [String]? {
        guard let text, let value = try? JSONParser.parse(Array(text.utf8)), let items = value.arrayValue else {
            return nil
        }
        return items.compactMap(\.stringValue)
    }

    static func jsonArray(_ items: [String]) -> String {
        var writer = JSONWriter()
        writer.beginArray()
        for item in items { writer.string(item) }
        writer.endArray()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
