import AtriumStore

/// The dispatcher's picture of the queue, owned by its thread: for each endpoint with
/// pending attempts, when the earliest one not already running is due, and what runs now.
/// The rows themselves stay in the store; this only avoids scanning them every round.
struct Schedule {
    /// Endpoint → the earliest due time among its pending attempts that are not running.
    private(set) var nextDue: [Int64: Int64] = [:]
    /// Endpoint → the delivery ids running now.
    private var inFlight: [Int64: Set<Int64>] = [:]
    /// Endpoint → its pending attempts, running ones included.
    private var pending: [Int64: Int] = [:]
    private(set) var inFlightCount = 0
    private(set) var pendingCount = 0
    var lastRouted: Int64 = 0

    mutating func load(from store: Store) throws {
        let summary = try store.read { reader in try reader.pendingDeliverySummary() }
        for entry in summary {
            nextDue[entry.webhookID] = entry.earliest
            pending[entry.webhookID] = entry.count
            pendingCount += entry.count
        }
    }

    func running(_ webhookID: Int64) -> Set<Int64> { inFlight[webhookID] ?? [] }

    /// Endpoints with an attempt due by `now` and room for another, earliest first.
    func dueEndpoints(now: Int64, perEndpointLimit: Int) -> [Int64] {
        nextDue.filter { $0.value <= now && (inFlight[$0.key]?.count ?? 0) < perEndpointLimit }
            .sorted { $0.value < $1.value }
            .map(\.key)
    }

    /// How long the dispatcher may sleep: until the next due attempt of an endpoint with room,
    /// at most a second (the routing backstop).
    func waitMilliseconds(now: Int64, configuration: DispatcherConfiguration) -> Int64 {
        var wait: Int64 = 1000
        guard inFlightCount < configuration.concurrency else { return wait }
        for (webhookID, due) in nextDue where (inFlight[webhookID]?.count ?? 0) < configuration.perEndpointConcurrency {
            wait = min(wait, max(0, due - now))
        }
        return wait
    }

    mutating func added(webhookID: Int64, dueAt: Int64, count: Int) {
        pending[webhookID, default: 0] += count
        pendingCount += count
        nextDue[webhookID] = min(nextDue[webhookID] ?? dueAt, dueAt)
    }

    mutating func started(_ deliveryID: Int64, webhookID: Int64) {
        inFlight[webhookID, default: []].insert(deliveryID)
        inFlightCount += 1
    }

    mutating func finished(_ deliveryID: Int64, webhookID: Int64) {
        if inFlight[webhookID]?.remove(deliveryID) != nil {
            inFlightCount -= 1
            if inFlight[webhookID]?.isEmpty == true { inFlight[webhookID] = nil }
        }
        removePending(webhookID: webhookID, count: 1)
    }

    mutating func cancelled(webhookID: Int64) {
        removePending(webhookID: webhookID, count: 1)
    }

    /// The endpoint is deleted: its rows went with it.
    mutating func forget(webhookID: Int64) {
        removePending(webhookID: webhookID, count: pending[webhookID] ?? 0)
        nextDue[webhookID] = nil
    }

    mutating func setNextDue(webhookID: Int64, _ due: Int64?) {
        nextDue[webhookID] = due
    }

    private mutating func removePending(webhookID: Int64, count: Int) {
        let current = pending[webhookID] ?? 0
        let removed = min(current, count)
        pendingCount -= removed
        pending[webhookID] = current - removed > 0 ? current - removed : nil
    }
}
