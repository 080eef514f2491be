import AtriumStore

/// What the dispatcher knows about one active endpoint. Owned by the dispatcher thread.
///
/// First attempts have no row until they are made: the endpoint's `cursor` (in the store) says
/// up to which outbox id they are settled, and `scannedTo` how far this process has handed
/// events out. Retries are `pending` rows, found through `retryDue`.
struct EndpointState {
    let id: Int64
    let workspaceID: Int64
    var events: [String]
    /// The store's cursor, as far as this process wrote it.
    var cursor: Int64
    /// Events of the workspace up to here were handed to a worker or skipped.
    var scannedTo: Int64
    /// Event ids whose first attempt runs now or awaits write-back.
    var firstInFlight: Set<Int64> = []
    /// Retry rows running now or awaiting write-back.
    var retriesInFlight: Set<Int64> = []
    /// Attempts holding a worker now.
    var running = 0
    /// The workspace may have events after `scannedTo`.
    var hasNewEvents = true
    /// Events of the workspace after `scannedTo` (an estimate for the queue-depth gauge).
    var backlog = 0
    /// The earliest due time of a pending retry not in flight.
    var retryDue: Int64?
    /// Pending retry rows, in flight or not.
    var pendingRetries = 0

    func wants(_ type: String) -> Bool { events.contains("*") || events.contains(type) }

    /// How far first attempts are settled: everything scanned, up to the oldest still open.
    var settledThrough: Int64 {
        guard let oldest = firstInFlight.min() else { return scannedTo }
        return oldest - 1
    }

    /// Something to claim at `now`.
    func hasWork(now: Int64) -> Bool {
        hasNewEvents || (retryDue.map { $0 <= now } ?? false)
    }
}

/// The dispatcher's picture of every active endpoint, keyed by id, plus the outbox position
/// up to which it has looked for new events.
struct Schedule {
    var endpoints: [Int64: EndpointState] = [:]
    /// Workspace → its active endpoints' ids.
    var byWorkspace: [Int64: [Int64]] = [:]
    /// Outbox ids up to here were seen by discovery.
    var seenUpTo: Int64 = 0
    var lastDiscovery: Int64 = 0
    var lastCursorSave: Int64 = 0
    var inFlightCount = 0

    /// Pending work for the queue-depth gauge: events not handed out yet, attempts running,
    /// and scheduled retries.
    var pendingCount: Int {
        endpoints.values.reduce(0) { $0 + $1.backlog + $1.firstInFlight.count + $1.pendingRetries }
    }

    mutating func replaceEndpoints(of workspaceID: Int64, with rows: [WebhookRow],
                                   backlog: (WebhookRow) throws -> Int) rethrows {
        let previous = Set(byWorkspace[workspaceID] ?? [])
        let current = Set(rows.map(\.id))
        for gone in previous.subtracting(current) { endpoints[gone] = nil }
        for row in rows {
            if var state = endpoints[row.id] {
                state.events = row.events
                state.hasNewEvents = true
                // Only this dispatcher moves cursors as it delivers, so a stored cursor ahead of
                // ours was reset by the API (turned off and on again): skip what it missed.
                if row.cursor > state.cursor {
                    state.cursor = row.cursor
                    state.scannedTo = max(state.scannedTo, row.cursor)
                    state.backlog = try backlog(row)
                }
                endpoints[row.id] = state
            } else {
                var state = EndpointState(id: row.id, workspaceID: row.workspaceID, events: row.events,
                                          cursor: row.cursor, scannedTo: row.cursor)
                state.backlog = try backlog(row)
                endpoints[row.id] = state
            }
        }
        byWorkspace[workspaceID] = rows.isEmpty ? nil : rows.map(\.id)
    }

    mutating func drop(_ webhookID: Int64) {
        guard let state = endpoints.removeValue(forKey: webhookID) else { return }
        byWorkspace[state.workspaceID]?.removeAll { $0 == webhookID }
        if byWorkspace[state.workspaceID]?.isEmpty == true { byWorkspace[state.workspaceID] = nil }
    }

    /// Endpoints with something due and a free slot, the longest-waiting first.
    func claimable(now: Int64, perEndpointLimit: Int) -> [Int64] {
        endpoints.values.filter { $0.running < perEndpointLimit && $0.hasWork(now: now) }
            .sorted { ($0.retryDue ?? $0.scannedTo) < ($1.retryDue ?? $1.scannedTo) }
            .map(\.id)
    }

    /// How long the dispatcher may sleep: until the next retry of an endpoint with room, at
    /// most a second (the discovery backstop); not at all when new events wait.
    func waitMilliseconds(now: Int64, configuration: DispatcherConfiguration) -> Int64 {
        var wait: Int64 = 1000
        guard inFlightCount < configuration.concurrency else { return wait }
        for state in endpoints.values where state.running < configuration.perEndpointConcurrency {
            if state.hasNewEvents { return 0 }
            if let due = state.retryDue { wait = min(wait, max(0, due - now)) }
        }
        return wait
    }
}
