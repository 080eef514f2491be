import AtriumOutbound
import AtriumStore
import CAtriumSystem
import Glibc

/// Turns the outbox into signed deliveries, at least once (docs/webhooks.md).
///
/// One dispatcher thread owns the schedule. Each round it (1) writes back the attempts the
/// workers finished, scheduling retries, (2) routes new outbox events to the matching active
/// endpoints as `pending` delivery rows, moving the outbox position in the same transaction,
/// and (3) hands due attempts to a fixed pool of worker threads, at most
/// `perEndpointConcurrency` per endpoint so one slow receiver cannot take every worker.
/// Workers only send; every store write happens on the dispatcher thread, batched into one
/// transaction per round. Because rows are `pending` until an outcome is written, a crash
/// loses nothing: after a restart the same attempts are due again.
public final class WebhookDispatcher: Sendable {
    public let metrics = WebhookMetrics()
    /// The shortest gap between two routing rounds while events keep coming.
    static let routeInterval: Int64 = 10
    let store: Store
    let client: OutboundClient
    let configuration: DispatcherConfiguration
    let now: @Sendable () -> Int64
    /// Guards `signals`; the dispatcher waits on it.
    let dispatcherMonitor = Monitor()
    let signals: SignalBox
    /// Guards `queue`; idle workers wait on it.
    let workMonitor = Monitor()
    let queue: WorkQueue

    public init(store: Store, client: OutboundClient, configuration: DispatcherConfiguration,
                now: @escaping @Sendable () -> Int64 = Clock.nowMilliseconds) {
        self.store = store
        self.client = client
        self.configuration = configuration
        self.now = now
        self.signals = SignalBox()
        self.queue = WorkQueue()
    }

    /// Starts the dispatcher and its workers, and asks the store to wake it after every
    /// commit that wrote an event.
    public func start() {
        store.database.setCommitObserver { [weak self] in self?.wake() }
        for index in 0..<max(1, configuration.concurrency) {
            spawnThread(name: "atrium-hook-\(index)") { [self] in workerLoop() }
        }
        spawnThread(name: "atrium-hooks") { [self] in
            var schedule = Schedule()
            dispatcherLoop(&schedule)
        }
    }

    /// Stops taking work. Attempts running now are abandoned (their rows stay `pending` and
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
            while !signals.stopped { dispatcherMonitor.wait(milliseconds: 100) }
        }
    }

    /// New events are committed: route them now rather than at the next poll.
    public func wake() {
        dispatcherMonitor.withLock {
            signals.eventsWaiting = true
            dispatcherMonitor.broadcast()
        }
    }

    // MARK: Workers

    private func workerLoop() {
        while true {
            let next: DeliveryJob? = workMonitor.withLock {
                while queue.jobs.isEmpty && !queue.stopping { workMonitor.wait(milliseconds: nil) }
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
        if !result.succeeded && !result.gone,
           let delay = configuration.retrySchedule.delay(afterAttempt: job.delivery.attempt) {
            retryAt = now() + (result.retryAfterMilliseconds ?? delay)
        }
        return DeliveryOutcome(
            deliveryID: job.delivery.id, webhookID: job.webhook.id, eventID: job.event.id, eventType: job.event.type,
            attempt: job.delivery.attempt, succeeded: result.succeeded, responseStatus: result.responseStatus,
            error: result.error, durationMilliseconds: Int64(elapsed.rounded()), retryAt: retryAt,
            disableReason: result.gone ? "gone" : nil)
    }

    // MARK: The dispatcher thread

    private func dispatcherLoop(_ schedule: inout Schedule) {
        do {
            try schedule.load(from: store)
            metrics.queueDepth.store(schedule.pendingCount, ordering: .relaxed)
        } catch {
            log("cannot read the delivery queue: \(error)")
        }
        var routeAnyway = true
        var pendingWake = false
        var lastPurge = now()
        while true {
            let (completions, eventsWaiting, stopping) = dispatcherMonitor.withLock {
                () -> ([DeliveryOutcome], Bool, Bool) in
                if signals.completions.isEmpty && !signals.eventsWaiting && !signals.stopping && !routeAnyway {
                    var wait = schedule.waitMilliseconds(now: now(), configuration: configuration)
                    if pendingWake { wait = min(wait, max(0, schedule.lastRouted + Self.routeInterval - now())) }
                    dispatcherMonitor.wait(milliseconds: wait)
                }
                let taken = signals.completions
                signals.completions.removeAll(keepingCapacity: true)
                let events = signals.eventsWaiting
                signals.eventsWaiting = false
                return (taken, events, signals.stopping)
            }
            if stopping { break }
            // Free the finished attempts' workers first and refill them before paying for the
            // write-back's commit, so workers never wait for an fsync.
            for outcome in completions { schedule.completed(outcome.deliveryID, webhookID: outcome.webhookID) }
            do {
                try claimDue(&schedule)
                if !completions.isEmpty { try writeBack(completions, &schedule) }
                // Route on a wake-up (at most every few milliseconds, so a busy writer's
                // commits are routed in batches), and at least once a second in case one
                // was missed.
                let time = now()
                if eventsWaiting { pendingWake = true }
                if (pendingWake && time - schedule.lastRouted >= Self.routeInterval) || routeAnyway
                    || time - schedule.lastRouted >= 1000 {
                    pendingWake = false
                    try route(&schedule)
                    schedule.lastRouted = time
                    try claimDue(&schedule)
                }
                if time - lastPurge >= 3_600_000 {
                    lastPurge = time
                    let cutoff = time - configuration.retentionMilliseconds
                    // In slices, so the writer is never held for long.
                    while try store.write({ writer in try writer.purgeEvents(before: cutoff, limit: 1000) }) >= 1000 {}
                }
                routeAnyway = false
            } catch {
                // The store refused (shutting down, or disk trouble): try again shortly. The
                // completions stay claimed (their rows are still pending), so after a restart
                // they run again: at least once.
                log("webhook dispatch: \(error)")
                routeAnyway = true
                usleep(200_000)
            }
            metrics.queueDepth.store(schedule.pendingCount, ordering: .relaxed)
        }
        if schedule.positionDirty, let position = schedule.routedUpTo {
            _ = try? store.write { writer in try writer.setOutboxPosition(position) }
        }
        dispatcherMonitor.withLock {
            signals.stopped = true
            dispatcherMonitor.broadcast()
        }
    }

    /// Writes finished attempts (and their retries) in one transaction.
    private func writeBack(_ completions: [DeliveryOutcome], _ schedule: inout Schedule) throws {
        let time = now()
        let retries = try store.write { writer -> [(Int64, Int64)] in
            var retries: [(Int64, Int64)] = []
            for outcome in completions {
                if try writer.recordOutcome(outcome, now: time) != nil, let retryAt = outcome.retryAt {
                    retries.append((outcome.webhookID, retryAt))
                }
            }
            return retries
        }
        for outcome in completions { schedule.writtenBack(outcome.deliveryID, webhookID: outcome.webhookID) }
        for (webhookID, retryAt) in retries { schedule.added(webhookID: webhookID, dueAt: retryAt, count: 1) }
    }

    /// One delivery to create: an event for an endpoint.
    struct Route: Sendable {
        let webhookID: Int64
        let eventID: Int64
        let eventType: String
    }

    /// Routes every outbox event past the position to the endpoints that want it.
    ///
    /// The matching is read on a reader connection; the writer only inserts the deliveries
    /// and the new position, in one transaction. A batch that matches no endpoint moves the
    /// position in memory and writes it at most once a second: routing it again after a crash
    /// finds the same (no) endpoints, since an endpoint only receives events younger than itself.
    private func route(_ schedule: inout Schedule) throws {
        let batch = configuration.routeBatchSize
        if schedule.routedUpTo == nil {
            schedule.routedUpTo = try store.read { reader in try reader.outboxPosition() }
        }
        while let position = schedule.routedUpTo {
            let (lastID, count, routes) = try store.read { reader -> (Int64?, Int, [Route]) in
                let events = try reader.outboxHeaders(after: position, limit: batch)
                var routes: [Route] = []
                var endpoints: [Int64: [WebhookRow]] = [:]
                for event in events {
                    let candidates: [WebhookRow]
                    if let cached = endpoints[event.workspaceID] {
                        candidates = cached
                    } else {
                        candidates = try reader.activeWebhooks(workspaceID: event.workspaceID, existingAt: Int64.max)
                        endpoints[event.workspaceID] = candidates
                    }
                    for webhook in candidates where webhook.wants(event.type) && webhook.createdAt <= event.createdAt {
                        routes.append(Route(webhookID: webhook.id, eventID: event.id, eventType: event.type))
                    }
                }
                return (events.last?.id, events.count, routes)
            }
            guard let lastID else { break }
            if routes.isEmpty {
                schedule.positionDirty = true
            } else {
                let time = now()
                let added = try store.write { writer -> [Int64: Int] in
                    var added: [Int64: Int] = [:]
                    for route in routes where try writer.insertDeliveryIfActive(
                        webhookID: route.webhookID, eventID: route.eventID, eventType: route.eventType, dueAt: time,
                        now: time) {
                        added[route.webhookID, default: 0] += 1
                    }
                    try writer.setOutboxPosition(lastID)
                    return added
                }
                for (webhookID, count) in added { schedule.added(webhookID: webhookID, dueAt: time, count: count) }
                schedule.positionDirty = false
                schedule.positionSavedAt = time
            }
            schedule.routedUpTo = lastID
            if count < batch { break }
        }
        let time = now()
        if schedule.positionDirty, let position = schedule.routedUpTo, time - schedule.positionSavedAt >= 1000 {
            try store.write { writer in try writer.setOutboxPosition(position) }
            schedule.positionDirty = false
            schedule.positionSavedAt = time
        }
    }

    /// Hands due attempts to the workers, within the global and per-endpoint limits.
    private func claimDue(_ schedule: inout Schedule) throws {
        let time = now()
        var free = configuration.concurrency - schedule.inFlightCount
        guard free > 0 else { return }
        let candidates = schedule.dueEndpoints(now: time, perEndpointLimit: configuration.perEndpointConcurrency)
        guard !candidates.isEmpty else { return }
        var jobs: [DeliveryJob] = []
        var disabled: [DeliveryRow] = []
        var nextTimes: [Int64: Int64?] = [:]
        var gone: [Int64] = []
        let perEndpoint = configuration.perEndpointConcurrency
        try store.read { reader in
            for webhookID in candidates where free > 0 {
                let slots = min(free, perEndpoint - schedule.runningCount(webhookID))
                guard slots > 0 else { continue }
                guard let webhook = try reader.webhook(id: webhookID) else {
                    gone.append(webhookID)
                    continue
                }
                var claimed = schedule.claimed(webhookID)
                let due = try reader.dueDeliveries(webhookID: webhookID, now: time, excluding: claimed, limit: slots)
                for delivery in due {
                    claimed.insert(delivery.id)
                    if !webhook.active {
                        disabled.append(delivery)
                    } else if let event = try reader.outboxEvent(id: delivery.eventID) {
                        jobs.append(DeliveryJob(delivery: delivery, webhook: webhook, event: event))
                        free -= 1
                    } else {
                        disabled.append(delivery)
                    }
                }
                nextTimes[webhookID] = .some(try reader.nextPendingTime(webhookID: webhookID, excluding: claimed))
            }
        }
        for webhookID in gone { schedule.forget(webhookID: webhookID) }
        for job in jobs { schedule.started(job.delivery.id, webhookID: job.webhook.id) }
        for (webhookID, next) in nextTimes { schedule.setNextDue(webhookID: webhookID, next) }
        if !jobs.isEmpty {
            workMonitor.withLock {
                queue.jobs.append(contentsOf: jobs)
                workMonitor.broadcast()
            }
        }
        if !disabled.isEmpty {
            let cancelled = disabled
            try store.write { writer in
                for delivery in cancelled { try writer.cancelDelivery(id: delivery.id, reason: "endpoint disabled") }
            }
            for delivery in disabled { schedule.cancelled(webhookID: delivery.webhookID) }
        }
    }

    private func log(_ message: String) {
        var line = Array("{\"level\":\"error\",\"msg\":".utf8)
        line.append(contentsOf: "\"\(message.replacingQuotes)\"}\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    private func spawnThread(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(ThreadBody {
            atrium_set_thread_name(name)
            body()
        }).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        let rc = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }
}

/// What workers and the store tell the dispatcher, guarded by `dispatcherMonitor`.
///
/// `@unchecked Sendable`: every access is inside `WebhookDispatcher.dispatcherMonitor.withLock`.
final class SignalBox: @unchecked Sendable {
    var completions: [DeliveryOutcome] = []
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

private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

extension String {
    var replacingQuotes: String {
        String(unicodeScalars.map { $0 == "\"" || $0 == "\\" || $0.value < 0x20 ? "'" : Character($0) })
    }
}
