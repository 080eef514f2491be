import AtriumOutbound
import AtriumStore
import AtriumSystem
import CAtriumSystem
import Glibc
import Synchronization

/// Turns the outbox into signed deliveries, at least once (docs/webhooks.md).
///
/// One dispatcher thread owns the schedule; a fixed pool of workers sends. Each round the
/// dispatcher (1) refills free workers: for every active endpoint with room (at most
/// `perEndpointConcurrency` each, so one slow receiver cannot take every worker) it hands out
/// due retries and the workspace's next events after the endpoint's position; (2) writes
/// back what the workers finished, in one transaction: an attempt row each, retries as
/// `pending` rows, and each endpoint's cursor moved over the events whose first attempt is
/// settled; (3) looks for endpoints whose workspaces have new events.
///
/// First attempts cost no write until they are made (the cursor stands for them), so an
/// event costs the request path one outbox row and the dispatcher one attempt row. A crash
/// loses nothing: after a restart every endpoint resumes from its cursor and its pending
/// rows, and an attempt that was made but not written back is made again (at least once).
///
/// Several instances on one PostgreSQL database run one dispatcher between them: each
/// instance's dispatcher thread is a standby until it holds the `webhooks` cluster role
/// (`ClusterRole`: a session advisory lock, tried every `standbyMilliseconds`), then loads
/// the schedule and delivers. Every write it makes checks the role's epoch in its own
/// transaction, so once another instance took over (this one's session died) nothing more of
/// this one's is written: its attempts in flight are made again by the new holder, the only
/// duplicates. It hears of other instances' events and endpoint changes through the store
/// (`onCommit`, `onRemoteEndpointChange`), and reloads every endpoint every
/// `fullReloadMilliseconds` in case a notice was lost.
public final class WebhookDispatcher: Sendable {
    public let metrics = WebhookMetrics()
    /// The shortest gap between two discovery rounds while events keep coming.
    static let discoveryInterval: Int64 = 10
    /// Events of one workspace read per endpoint per round while looking for matches.
    static let scanBatch = 256
    /// How often a standby tries to take the role over.
    static let standbyMilliseconds: Int64 = 1000
    /// How often the holder reloads every endpoint (endpoint notices are best effort).
    static let fullReloadMilliseconds: Int64 = 30_000
    /// The advisory lock key of the dispatcher's role: "AtriumWh" in ASCII.
    static let roleKey: Int64 = 0x4174_7269_756D_5768
    /// Who delivers, when several instances share a database.
    let role: ClusterRole
    /// The role's epoch while this instance holds it (0: a standby), for the write fence.
    let epoch = Atomic<Int64>(0)
    let store: Store
    let client: OutboundClient
    let configuration: DispatcherConfiguration
    let now: @Sendable () -> Int64
    /// Guards `signals`; the dispatcher waits on it.
    let dispatcherMonitor = ConditionLock()
    let signals: SignalBox
    /// Guards `queue`; idle workers wait on it.
    let workMonitor = ConditionLock()
    let queue: WorkQueue
    /// False while no endpoint is active anywhere: commits then need not wake the dispatcher
    /// (an endpoint only receives events younger than itself, and creating one reloads).
    let anyEndpoints = Atomic<Bool>(true)

    public init(store: Store, client: OutboundClient, configuration: DispatcherConfiguration,
                now: @escaping @Sendable () -> Int64 = Clock.nowMilliseconds) {
        self.store = store
        self.client = client
        self.configuration = configuration
        self.now = now
        self.signals = SignalBox()
        self.queue = WorkQueue()
        self.role = store.clusterRole("webhooks", key: Self.roleKey)
    }

    /// Starts the dispatcher and its workers, and asks the store to wake it after every
    /// commit that wrote an event.
    public func start() {
        store.onCommit { [weak self] in self?.wake() }
        store.onRemoteEndpointChange { [weak self] workspaceID in self?.endpointsChanged(workspaceID: workspaceID) }
        for index in 0..<max(1, configuration.concurrency) {
            OSThread.spawn(name: "atrium-hook-\(index)", detached: true) { [self] in workerLoop() }
        }
        OSThread.spawn(name: "atrium-hooks", detached: true) { [self] in
            var schedule = Schedule()
            dispatcherLoop(&schedule)
        }
    }

    /// Stops taking work. Attempts running now are abandoned (their events stay unsettled and
    /// run again after the next start), so shutdown never waits for a slow receiver.
    public func stop() {
        dispatcherMonitor.withLock {
            signals.stopping = true
            dispatcherMonitor.broadcast()
        }
        workMonitor.withLock {
            queue.stopping = true
            workMonitor.broadcast()
        }
        // Wait for the dispatcher thread to leave the store alone.
        dispatcherMonitor.withLock {
            while !signals.stopped { dispatcherMonitor.wait(nanoseconds: 100_000_000) }
        }
        role.release()
    }

    /// True while this instance delivers (holds the cluster role).
    public var isDelivering: Bool { epoch.load(ordering: .relaxed) != 0 }

    /// An endpoint of `workspaceID` was created, changed or deleted: reload that workspace's
    /// endpoints before handing out more of its events.
    public func endpointsChanged(workspaceID: Int64) {
        anyEndpoints.store(true, ordering: .relaxed)
        dispatcherMonitor.withLock {
            signals.changedWorkspaces.insert(workspaceID)
            dispatcherMonitor.broadcast()
        }
    }

    /// New events are committed: look for them now rather than at the next poll.
    public func wake() {
        guard anyEndpoints.load(ordering: .relaxed) else { return }
        dispatcherMonitor.withLock {
            signals.eventsWaiting = true
            dispatcherMonitor.broadcast()
        }
    }

    // MARK: Workers

    private func workerLoop() {
        while true {
            let next: DeliveryJob? = workMonitor.withLock {
                while queue.jobs.isEmpty && !queue.stopping { workMonitor.wait() }
                return queue.stopping ? nil : queue.jobs.removeFirst()
            }
            guard let job = next else { return }
            let outcome = attempt(job)
            dispatcherMonitor.withLock {
                signals.completions.append(outcome)
                dispatcherMonitor.broadcast()
            }
        }
    }

    /// Sends one attempt and decides what follows it.
    func attempt(_ job: DeliveryJob) -> DeliveryOutcome {
        metrics.inFlight.add(1, ordering: .relaxed)
        defer { metrics.inFlight.subtract(1, ordering: .relaxed) }
        let started = monotonicMilliseconds()
        let sentAt = now()
        let result: AttemptResult
        if let url = WebhookURL.parse(job.webhook.url) {
            result = AttemptResult.classify(client.send(job.request(url: url, nowMilliseconds: sentAt)),
                                            nowMilliseconds: sentAt)
        } else {
            result = AttemptResult(outcome: "connection_error", succeeded: false, responseStatus: nil,
                                   error: "invalid URL", retryAfterMilliseconds: nil, gone: false)
        }
        let elapsed = monotonicMilliseconds() - started
        metrics.record(outcome: result.outcome, seconds: elapsed / 1000)
        var retryAt: Int64?
        if !result.succeeded && !result.gone, let delay = configuration.retrySchedule.delay(afterAttempt: job.attempt) {
            retryAt = now() + (result.retryAfterMilliseconds ?? delay)
        }
        return DeliveryOutcome(
            deliveryID: job.deliveryID, webhookID: job.webhook.id, eventID: job.event.id, eventType: job.event.type,
            attempt: job.attempt, succeeded: result.succeeded, responseStatus: result.responseStatus,
            error: result.error, durationMilliseconds: Int64(elapsed.rounded()), retryAt: retryAt,
            disableReason: result.gone ? "gone" : nil, attemptedAt: sentAt)
    }

    // MARK: The dispatcher thread

    private func dispatcherLoop(_ schedule: inout Schedule) {
        var needsLoad = true
        var discoverNow = true
        // Finished attempts whose write-back failed: written with the next round's.
        var unwritten: [DeliveryOutcome] = []
        var lastPurge = now()
        var lastFullLoad = now()
        while true {
            if epoch.load(ordering: .relaxed) == 0 || role.heldEpoch() == nil {
                stepDown(&schedule, &unwritten)
                guard standBy(&schedule) else { break }
                needsLoad = true
                discoverNow = true
                lastFullLoad = now()
                continue
            }
            let (completions, eventsWaiting, changed, stopping) = dispatcherMonitor.withLock {
                () -> ([DeliveryOutcome], Bool, Set<Int64>, Bool) in
                if signals.completions.isEmpty && signals.changedWorkspaces.isEmpty && !signals.stopping && !needsLoad
                    && unwritten.isEmpty {
                    var wait = schedule.waitMilliseconds(now: now(), configuration: configuration)
                    if signals.eventsWaiting || discoverNow {
                        wait = min(wait, max(0, schedule.lastDiscovery + Self.discoveryInterval - now()))
                    }
                    wait = min(wait, max(0, lastPurge + configuration.purgeIntervalMilliseconds - now()))
                    // Wake at least every second: the role is checked, discovery polls.
                    wait = min(wait, 1000)
                    if wait > 0 { dispatcherMonitor.wait(nanoseconds: UInt64(wait) * 1_000_000) }
                }
                let taken = signals.completions
                signals.completions.removeAll(keepingCapacity: true)
                let changed = signals.changedWorkspaces
                signals.changedWorkspaces.removeAll()
                let events = signals.eventsWaiting
                signals.eventsWaiting = false
                return (taken, events, changed, signals.stopping)
            }
            if stopping { break }
            // Free the finished attempts' workers and refill them before paying for the
            // write-back's commit, so workers never wait for an fsync.
            for outcome in completions {
                schedule.inFlightCount -= 1
                schedule.endpoints[outcome.webhookID]?.running -= 1
            }
            if eventsWaiting { discoverNow = true }
            do {
                if now() - lastFullLoad >= Self.fullReloadMilliseconds {
                    needsLoad = true
                    lastFullLoad = now()
                }
                if needsLoad {
                    try load(&schedule)
                    needsLoad = false
                }
                for workspaceID in changed { try reload(workspaceID, &schedule) }
                let time = now()
                if (discoverNow && time - schedule.lastDiscovery >= Self.discoveryInterval)
                    || time - schedule.lastDiscovery >= 1000 {
                    try discover(&schedule)
                    schedule.lastDiscovery = time
                    discoverNow = false
                }
                try claim(&schedule)
                let outcomes = unwritten + completions
                unwritten = outcomes
                if !outcomes.isEmpty { try writeBack(outcomes, &schedule) }
                unwritten = []
                if time - schedule.lastCursorSave >= 1000 {
                    try saveCursors(&schedule)
                    schedule.lastCursorSave = time
                }
                if time - lastPurge >= configuration.purgeIntervalMilliseconds {
                    lastPurge = time
                    let cutoff = time - configuration.retentionMilliseconds
                    // In slices, so the writer is never held for long.
                    while try fencedWrite({ writer in try writer.purgeEvents(before: cutoff, limit: 1000) }) >= 1000 {}
                }
            } catch let lost as ClusterRoleLost {
                log("webhook dispatch: \(lost); this instance stops delivering")
                role.release()
                epoch.store(0, ordering: .relaxed)
                continue
            } catch {
                // The store refused (shutting down, or disk trouble): start again from the
                // store's state shortly, keeping the outcomes not yet written. Unsettled events
                // and pending rows run again.
                // A full disk is logged by the store itself, rate-limited; retrying it five
                // times a second would flood the log and gain nothing.
                let full = (error as? StoreError) == .storageFull
                if !full { log("webhook dispatch: \(error)") }
                needsLoad = true
                usleep(full ? 1_000_000 : 200_000)
            }
            metrics.queueDepth.store(schedule.pendingCount, ordering: .relaxed)
            anyEndpoints.store(!schedule.endpoints.isEmpty || needsLoad, ordering: .relaxed)
        }
        _ = try? saveCursors(&schedule)
        dispatcherMonitor.withLock {
            signals.stopped = true
            dispatcherMonitor.broadcast()
        }
    }

    /// Reads every active endpoint, its backlog and its scheduled retries from the store.
    private func load(_ schedule: inout Schedule) throws {
        let running = schedule.endpoints.mapValues { ($0.running, $0.firstInFlight, $0.retriesInFlight) }
        var fresh = Schedule()
        fresh.inFlightCount = schedule.inFlightCount
        try store.read { reader in
            fresh.seenUpTo = try reader.newestEventID()
            let rows = try reader.allActiveWebhooks()
            for (workspaceID, group) in Dictionary(grouping: rows, by: \.workspaceID) {
                try fresh.replaceEndpoints(of: workspaceID, with: group) { row in
                    try reader.eventCount(workspaceID: row.workspaceID, after: row.cursor)
                }
            }
            for entry in try reader.pendingDeliverySummary() {
                fresh.endpoints[entry.webhookID]?.retryDue = entry.earliest
                fresh.endpoints[entry.webhookID]?.pendingRetries = entry.count
            }
        }
        // Attempts still running keep their claims, so they are not handed out twice.
        for (id, claims) in running {
            fresh.endpoints[id]?.running = claims.0
            fresh.endpoints[id]?.firstInFlight = claims.1
            fresh.endpoints[id]?.retriesInFlight = claims.2
            if let oldest = claims.1.max(), let state = fresh.endpoints[id], state.scannedTo < oldest {
                fresh.endpoints[id]?.scannedTo = oldest
            }
        }
        schedule = fresh
    }

    /// Reloads one workspace's endpoints after a change made through the API.
    private func reload(_ workspaceID: Int64, _ schedule: inout Schedule) throws {
        try store.read { reader in
            let rows = try reader.activeWebhooks(workspaceID: workspaceID)
            try schedule.replaceEndpoints(of: workspaceID, with: rows) { row in
                try reader.eventCount(workspaceID: row.workspaceID, after: row.cursor)
            }
            for row in rows {
                let due = try reader.nextPendingTime(webhookID: row.id,
                                                     excluding: schedule.endpoints[row.id]?.retriesInFlight ?? [])
                schedule.endpoints[row.id]?.retryDue = due
            }
        }
    }

    /// Marks the endpoints whose workspaces have events the dispatcher has not seen yet.
    private func discover(_ schedule: inout Schedule) throws {
        while true {
            let after = schedule.seenUpTo
            let headers = try store.read { reader in try reader.outboxHeaders(after: after, limit: 1000) }
            guard let last = headers.last else { return }
            var counts: [Int64: [Int64]] = [:]
            for header in headers { counts[header.workspaceID, default: []].append(header.id) }
            for (workspaceID, ids) in counts {
                for endpointID in schedule.byWorkspace[workspaceID] ?? [] {
                    guard var state = schedule.endpoints[endpointID] else { continue }
                    state.hasNewEvents = true
                    state.backlog += ids.reduce(0) { $0 + ($1 > state.scannedTo ? 1 : 0) }
                    schedule.endpoints[endpointID] = state
                }
            }
            schedule.seenUpTo = last.id
            if headers.count < 1000 { return }
        }
    }

    /// Hands due retries and new events to the workers, within the global and per-endpoint limits.
    private func claim(_ schedule: inout Schedule) throws {
        let time = now()
        var free = configuration.concurrency - schedule.inFlightCount
        guard free > 0 else { return }
        let candidates = schedule.claimable(now: time, perEndpointLimit: configuration.perEndpointConcurrency)
        guard !candidates.isEmpty else { return }
        var jobs: [DeliveryJob] = []
        var expired: [(endpoint: Int64, row: Int64)] = []
        var dropped: [Int64] = []
        let perEndpoint = configuration.perEndpointConcurrency
        try store.read { reader in
            for endpointID in candidates where free > 0 {
                guard var state = schedule.endpoints[endpointID] else { continue }
                let jobsBefore = jobs.count
                guard let webhook = try reader.webhook(id: endpointID), webhook.active else {
                    dropped.append(endpointID)
                    continue
                }
                var slots = min(free, perEndpoint - state.running)
                if let due = state.retryDue, due <= time, slots > 0 {
                    for row in try reader.dueDeliveries(webhookID: endpointID, now: time,
                                                        excluding: state.retriesInFlight, limit: slots) {
                        state.retriesInFlight.insert(row.id)
                        guard let event = try reader.outboxEvent(id: row.eventID) else {
                            expired.append((endpointID, row.id))
                            continue
                        }
                        jobs.append(DeliveryJob(deliveryID: row.id, attempt: row.attempt, webhook: webhook,
                                                event: event))
                        state.running += 1
                        slots -= 1
                    }
                    state.retryDue = try reader.nextPendingTime(webhookID: endpointID, excluding: state.retriesInFlight)
                }
                while state.hasNewEvents && slots > 0 {
                    let headers = try reader.workspaceEventHeaders(workspaceID: state.workspaceID,
                                                                   after: state.scannedTo, limit: Self.scanBatch)
                    var consumed = 0
                    for header in headers where slots > 0 {
                        consumed += 1
                        state.scannedTo = header.id
                        state.backlog = max(0, state.backlog - 1)
                        guard state.wants(header.type),
                              let event = try reader.outboxEvent(id: header.id) else { continue }
                        state.firstInFlight.insert(header.id)
                        jobs.append(DeliveryJob(deliveryID: nil, attempt: 1, webhook: webhook, event: event))
                        state.running += 1
                        slots -= 1
                    }
                    if headers.count < Self.scanBatch && consumed == headers.count {
                        state.hasNewEvents = false
                        state.backlog = 0
                    }
                }
                free -= jobs.count - jobsBefore
                schedule.endpoints[endpointID] = state
            }
        }
        for endpointID in dropped { schedule.drop(endpointID) }
        schedule.inFlightCount += jobs.count
        if !jobs.isEmpty {
            workMonitor.withLock {
                queue.jobs.append(contentsOf: jobs)
                workMonitor.broadcast()
            }
        }
        if !expired.isEmpty {
            let rows = expired.map(\.row)
            try fencedWrite { writer in
                for id in rows { try writer.cancelDelivery(id: id, reason: "event expired") }
            }
            for (endpointID, row) in expired {
                schedule.endpoints[endpointID]?.retriesInFlight.remove(row)
                if let count = schedule.endpoints[endpointID]?.pendingRetries {
                    schedule.endpoints[endpointID]?.pendingRetries = max(0, count - 1)
                }
            }
        }
    }

    /// Writes finished attempts, their retries and the endpoints' new cursors in one transaction.
    private func writeBack(_ completions: [DeliveryOutcome], _ schedule: inout Schedule) throws {
        let time = now()
        // The cursors as they will be once these outcomes are written.
        var settled = schedule.endpoints
        for outcome in completions where outcome.deliveryID == nil {
            settled[outcome.webhookID]?.firstInFlight.remove(outcome.eventID)
        }
        var cursors: [(Int64, Int64)] = []
        for (id, state) in settled where state.settledThrough > state.cursor {
            cursors.append((id, state.settledThrough))
        }
        let moves = cursors
        let retries = try fencedWrite { writer -> [(Int64, Int64)] in
            var retries: [(Int64, Int64)] = []
            for outcome in completions {
                if try writer.recordOutcome(outcome, now: time) != nil, let retryAt = outcome.retryAt {
                    retries.append((outcome.webhookID, retryAt))
                }
            }
            for (id, cursor) in moves { try writer.advanceWebhookCursor(webhookID: id, to: cursor) }
            return retries
        }
        for outcome in completions {
            guard var state = schedule.endpoints[outcome.webhookID] else { continue }
            if let row = outcome.deliveryID {
                state.retriesInFlight.remove(row)
                state.pendingRetries = max(0, state.pendingRetries - 1)
            } else {
                state.firstInFlight.remove(outcome.eventID)
            }
            schedule.endpoints[outcome.webhookID] = state
            if outcome.disableReason != nil { schedule.drop(outcome.webhookID) }
        }
        for (id, cursor) in moves { schedule.endpoints[id]?.cursor = cursor }
        for (webhookID, retryAt) in retries {
            guard var state = schedule.endpoints[webhookID] else { continue }
            state.pendingRetries += 1
            state.retryDue = min(state.retryDue ?? retryAt, retryAt)
            schedule.endpoints[webhookID] = state
        }
    }

    /// Writes the cursors of endpoints that skipped events without attempting any (events
    /// their filter does not want), so a restart does not scan them again and purging can
    /// pass them.
    private func saveCursors(_ schedule: inout Schedule) throws {
        let moves = schedule.endpoints.values.filter { $0.settledThrough > $0.cursor }
            .map { ($0.id, $0.settledThrough) }
        guard !moves.isEmpty else { return }
        try fencedWrite { writer in
            for (id, cursor) in moves { try writer.advanceWebhookCursor(webhookID: id, to: cursor) }
        }
        for (id, cursor) in moves { schedule.endpoints[id]?.cursor = cursor }
    }

    private func log(_ message: String) {
        ErrorLog.write(message: message)
    }

    // MARK: The cluster role

    /// A write of the role's holder: refused (`ClusterRoleLost`) in its own transaction once
    /// another instance took the role over.
    func fencedWrite<T: Sendable>(_ body: @escaping @Sendable (StoreWriter) throws -> T) throws -> T {
        let held = epoch.load(ordering: .relaxed)
        let name = role.name
        return try store.write { writer in
            try writer.requireClusterRole(name, epoch: held)
            return try body(writer)
        }
    }

    /// Leaves the holder's work: outcomes not yet written are dropped (the next holder makes
    /// those attempts again), and attempts still running will be dropped as they finish.
    private func stepDown(_ schedule: inout Schedule, _ unwritten: inout [DeliveryOutcome]) {
        if epoch.exchange(0, ordering: .relaxed) != 0 {
            log("webhook dispatch: this instance lost the delivery role; another instance delivers")
        }
        unwritten = []
        let running = schedule.inFlightCount
        schedule = Schedule()
        schedule.inFlightCount = running
        metrics.queueDepth.store(0, ordering: .relaxed)
    }

    /// Waits as a standby: tries the role every `standbyMilliseconds` until this instance
    /// holds it (true) or the dispatcher stops (false). Attempts of a lost term that finish
    /// meanwhile only free their workers.
    private func standBy(_ schedule: inout Schedule) -> Bool {
        while true {
            let stopping = dispatcherMonitor.withLock { () -> Bool in
                if !signals.stopping && signals.completions.isEmpty {
                    dispatcherMonitor.wait(nanoseconds: UInt64(Self.standbyMilliseconds) * 1_000_000)
                }
                schedule.inFlightCount -= signals.completions.count
                signals.completions.removeAll()
                signals.changedWorkspaces.removeAll()
                signals.eventsWaiting = false
                return signals.stopping
            }
            if stopping { return false }
            do {
                if let taken = try role.tryAcquire() {
                    epoch.store(taken, ordering: .relaxed)
                    log("webhook dispatch: this instance (\(store.instanceID)) delivers now (epoch \(taken))")
                    return true
                }
            } catch {
                log("webhook dispatch: cannot take the delivery role: \(error)")
            }
        }
    }
}

/// What workers and the store tell the dispatcher, guarded by `dispatcherMonitor`.
///
/// `@unchecked Sendable`: every access is inside `WebhookDispatcher.dispatcherMonitor.withLock`.
final class SignalBox: @unchecked Sendable {
    var completions: [DeliveryOutcome] = []
    var changedWorkspaces: Set<Int64> = []
    var eventsWaiting = false
    var stopping = false
    var stopped = false
}

/// Attempts waiting for a worker, guarded by `workMonitor`.
///
/// `@unchecked Sendable`: every access is inside `WebhookDispatcher.workMonitor.withLock`.
final class WorkQueue: @unchecked Sendable {
    var jobs: [DeliveryJob] = []
    var stopping = false
}
