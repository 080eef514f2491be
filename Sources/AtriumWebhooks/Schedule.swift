import AtriumStore

/// The dispatcher's picture of the queue, owned by its thread: for each endpoint with
/// pending attempts, when the earliest one not already running is due, and what runs now.
/// The rows themselves stay in the store; this only avoids scanning them every round.
struct Schedule {
    /// Endpoint → the earliest due time among its pending attempts that are not running.
    private(set) var nextDue: [Int64: Int64] = [:]
    /// Endpoint → the delivery ids running now, or finished but not yet written back: the
    /// store still says `pending` for them, so they must not be claimed again.
    private var inFlight: [Int64: Set<Int64>] = [:]
    /// Endpoint → how many of its attempts hold a worker now (what the limits count).
    private var running: [Int64: Int] = [:]
    /// Endpoint → its pending attempts, running ones included.
    private var pending: [Int64: Int] = [:]
    private(set) var inFlightCount = 0
    private(set) var pendingCount = 0
    var lastRouted: Int64 = 0
    /// The last outbox id routed (nil until read from the store), and whether the store's
    /// copy is behind it: batches that create no delivery move it in memory only.
    var routedUpTo: Int64?
    var positionDirty = false
    var positionSavedAt: Int64 = 0

    mutating func load(from store: Store) throws {
        let summary = try store.read { reader in try reader.pendingDeliverySummary() }
        for entry in summary {
            nextDue[entry.webhookID] = entry.earliest
            pending[entry.webhookID] = entry.count
            pendingCount += entry.count
        }
    }

    /// Delivery ids of the endpoint that must not be claimed (running or awaiting write-back).
    func claimed(_ webhookID: Int64) -> Set<Int64> { inFlight[webhookID] ?? [] }

    func runningCount(_ webhookID: Int64) -> Int { running[webhookID] ?? 0 }

    /// Endpoints with an attempt due by `now` and room for another, earliest first.
    func dueEndpoints(now: Int64, perEndpointLimit: Int) -> [Int64] {
        nextDue.filter { $0.value <= now && runningCount($0.key) < perEndpointLimit }
            .sorted { $0.value < $1.value }
            .map(\.key)
    }

    /// How long the dispatcher may sleep: until the next due attempt of an endpoint with room,
    /// at most a second (the routing backstop).
    func waitMilliseconds(now: Int64, configuration: DispatcherConfiguration) -> Int64 {
        var wait: Int64 = 1000
        guard inFlightCount < configuration.concurrency else { return wait }
        for (webhookID, due) in nextDue where runningCount(webhookID) < configuration.perEndpointConcurrency {
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
        running[webhookID, default: 0] += 1
        inFlightCount += 1
    }

    /// A worker finished the attempt: its slot is free, but it stays claimed until written back.
    mutating func completed(_ deliveryID: Int64, webhookID: Int64) {
        guard inFlight[webhookID]?.contains(deliveryID) == true else { return }
        inFlightCount -= 1
        let left = (running[webhookID] ?? 1) - 1
        running[webhookID] = left > 0 ? left : nil
    }

    /// The attempt's outcome is in the store.
    mutating func writtenBack(_ deliveryID: Int64, webhookID: Int64) {
        if inFlight[webhookID]?.remove(deliveryID) != nil, inFlight[webhookID]?.isEmpty == true {
            inFlight[webhookID] = nil
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
