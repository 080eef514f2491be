
/// The outbox read by callers (`GET /v1/events`, api.md §6 "Events"): pages of one or several
/// workspaces' events, narrowed to the event types each workspace lets the caller see.
extension StoreReader {
    /// Which event types the caller may see in which workspaces: every workspace of one group
    /// shows the same types.
    public struct EventVisibility: Sendable {
        public var workspaceIDs: [Int64]
        public var types: [String]

        public init(workspaceIDs: [Int64], types: [String]) {
            self.workspaceIDs = workspaceIDs
            self.types = types
        }
    }

    /// Where a page starts: newest first below an id, or oldest first above one.
    public enum EventPosition: Sendable, Equatable {
        case newestBefore(Int64?)
        case oldestAfter(Int64)
    }

    /// Up to `limit` events of the groups, newest first (or oldest first after an id), merged by id.
    public func events(_ groups: [EventVisibility], from position: EventPosition, limit: Int)
        throws(SQLError) -> [OutboxEvent]
    {
        var merged: [OutboxEvent] = []
        for group in groups where !group.workspaceIDs.isEmpty && !group.types.isEmpty {
            merged += try events(group, from: position, limit: limit)
        }
        switch position {
        case .newestBefore: merged.sort { $0.id > $1.id }
        case .oldestAfter: merged.sort { $0.id < $1.id }
        }
        return Array(merged.prefix(limit))
    }

    private func events(_ group: EventVisibility, from position: EventPosition, limit: Int)
        throws(SQLError) -> [OutboxEvent]
    {
        let key = connection.dialect.eventKey
        let order: String
        let bound: Int64
        switch position {
        case .newestBefore(let before):
            order = "\(key) < ?2 ORDER BY \(key) DESC"
            bound = before ?? Int64.max
        case .oldestAfter(let after):
            order = "\(key) > ?2 ORDER BY \(key) ASC"
            bound = after
        }
        let statement = try connection.prepare("""
            SELECT \(key), workspace_id, event_type, data, created_at FROM outbox
            WHERE workspace_id IN (\(connection.dialect.integers(inJSONArray: "?1")))
              AND event_type IN (\(connection.dialect.strings(inJSONArray: "?3")))
              AND \(order) LIMIT ?4
            """)
        defer { statement.reset() }
        try statement.bind("[" + group.workspaceIDs.map(String.init).joined(separator: ",") + "]", at: 1)
        try statement.bind(bound, at: 2)
        try statement.bind(Self.jsonArray(group.types), at: 3)
        try statement.bind(Int64(limit), at: 4)
        var result: [OutboxEvent] = []
        while try statement.step() { result.append(Self.event(statement)) }
        return result
    }

    /// The id of the oldest event still kept, or the id the next event will get when none is:
    /// every event below it is gone (purged after the retention window), so a position below
    /// it has lost events.
    public func firstRetainedEventID() throws(SQLError) -> Int64 {
        let dialect = connection.dialect
        let statement = try connection.prepare("""
            SELECT COALESCE((SELECT MIN(\(dialect.eventKey)) FROM outbox), (\(dialect.lastEventKey)) + 1, 1)
            """)
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : 1
    }

    /// The id of the newest event ever written (0 when none): a stream that starts "now"
    /// sends what comes after it.
    public func lastEventID() throws(SQLError) -> Int64 {
        let statement = try connection.prepare("SELECT COALESCE((\(connection.dialect.lastEventKey)), 0)")
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : 0
    }

    /// The store-wide tenancy counter: it moves in every transaction that revokes or changes
    /// someone's rights (`StoreWriter.tenancyChanged`).
    public func tenancyEpoch() throws(SQLError) -> Int64 {
        let statement = try connection.prepare("SELECT value FROM tenancy_epoch WHERE id = 1")
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : 0
    }
}
