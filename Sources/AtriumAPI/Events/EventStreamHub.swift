import AtriumAuth
import AtriumHTTP
import AtriumStore
import AtriumSystem
import CAtriumSystem
import Glibc

/// Feeds every open `GET /v1/events/stream`: one thread that, after each commit that wrote an
/// event (or moved the tenancy counter), reads the new outbox rows **once** and fans them out
/// to the streams that may see them; that re-validates callers when rights changed and at
/// each heartbeat; and that sends the heartbeats. Streams themselves live on the event loops
/// (`HTTPStream`); the hub holds only what it needs to route an event to them.
///
/// One pass, in one read snapshot: the tenancy counter, then (when it moved, or a heartbeat
/// is due) every caller's re-validation, then the events after the last one seen, then the
/// backlog of streams still catching up. Reading the counter in the snapshot that reads the
/// events means a stream never gets an event committed together with, or after, a change
/// that took its right away: that change moved the counter in the same transaction.
final class EventStreamHub: @unchecked Sendable {
    // @unchecked Sendable: `subscribers`, `byWorkspace`, `seen`, `resync`, `lastEpoch` and
    // `nextHeartbeat` are confined to the hub thread (`run` and what it calls). Other threads
    // reach the hub only through `monitor`, which guards `incoming`, `closedIDs`, `nextID`,
    // `wakeRequested` and `stopping`.
    static let batchLimit = 256

    private let store: Store
    private let heartbeatNanoseconds: UInt64
    private let monitor = ConditionLock()
    private var incoming: [EventSubscriber] = []
    private var closedIDs: [Int] = []
    private var nextID = 0
    private var wakeRequested = false
    private var stopping = false
    private var thread: pthread_t?

    private var subscribers: [Int: EventSubscriber] = [:]
    private var byWorkspace: [Int64: [EventSubscriber]] = [:]
    /// The newest event id the fan-out has read; nil until read (and again while no stream is
    /// open, when the hub reads nothing).
    private var seen: Int64?
    private var lastEpoch: Int64 = -1
    private var nextHeartbeat: UInt64 = 0

    init(store: Store, heartbeatMilliseconds: Int) {
        self.store = store
        heartbeatNanoseconds = UInt64(max(1, heartbeatMilliseconds)) * 1_000_000
    }

    /// Starts the hub thread and asks the store to wake it after every notified commit.
    func start() {
        store.onCommit { [weak self] in self?.wake() }
        thread = OSThread.spawn(name: "atrium-events") { [self] in run() }
    }

    /// Stops the hub thread (the streams themselves end with the HTTP server's shutdown).
    func stop() {
        monitor.withLock {
            stopping = true
            monitor.signal()
        }
        if let thread { OSThread.join(thread) }
        thread = nil
    }

    /// The number of open streams (for /metrics and tests).
    var openStreams: Int { monitor.withLock { subscriberCount } }
    private var subscriberCount = 0

    /// Registers an opened stream (on its loop's thread); the hub sends it what follows its cursor.
    func subscribe(_ stream: HTTPStream, _ subscription: EventSubscription) {
        let subscriber = monitor.withLock { () -> EventSubscriber in
            nextID += 1
            subscriberCount += 1
            let subscriber = EventSubscriber(id: nextID, stream: stream, subscription: subscription)
            incoming.append(subscriber)
            wakeRequested = true
            monitor.signal()
            return subscriber
        }
        let id = subscriber.id
        stream.onClose { [weak self] in self?.closed(id) }
    }

    private func closed(_ id: Int) {
        monitor.withLock {
            closedIDs.append(id)
            subscriberCount -= 1
        }
    }

    /// A commit wrote events or changed rights: run a pass soon. While no stream is open there
    /// is nothing to send or re-check, so a commit costs the writer no wake-up of this thread
    /// (a stream that opens reads from its own position on its first pass).
    func wake() {
        monitor.withLock {
            guard !wakeRequested, subscriberCount > 0 else { return }
            wakeRequested = true
            monitor.signal()
        }
    }

    // MARK: The hub thread

    private func run() {
        nextHeartbeat = atrium_monotonic_ns() &+ heartbeatNanoseconds
        var next = Next.wait
        while true {
            let (arrived, gone, stop) = monitor.withLock { () -> ([EventSubscriber], [Int], Bool) in
                if next != .now && !wakeRequested && !stopping {
                    let now = atrium_monotonic_ns()
                    var until = nextHeartbeat
                    if next == .soon { until = min(until, now &+ Self.backlogPause) }
                    if now < until { monitor.wait(nanoseconds: until &- now) }
                }
                wakeRequested = false
                let taken = (incoming, closedIDs, stopping)
                incoming.removeAll()
                closedIDs.removeAll()
                return taken
            }
            if stop { return }
            // Added before the closed ones are removed: a stream may open and close between passes.
            for subscriber in arrived { add(subscriber) }
            for id in gone { remove(id) }
            next = pass()
        }
    }

    private func add(_ subscriber: EventSubscriber) {
        subscribers[subscriber.id] = subscriber
        for workspace in subscriber.masks.byWorkspace.keys { byWorkspace[workspace, default: []].append(subscriber) }
    }

    private func remove(_ id: Int) {
        guard let subscriber = subscribers.removeValue(forKey: id) else { return }
        for workspace in subscriber.masks.byWorkspace.keys {
            byWorkspace[workspace]?.removeAll { $0 === subscriber }
            if byWorkspace[workspace]?.isEmpty == true { byWorkspace[workspace] = nil }
        }
    }

    /// When the next pass runs: at once (a full batch was read), soon (a stream catching up
    /// waits for its client to take what it has), or at the next wake-up or heartbeat.
    private enum Next { case now, soon, wait }

    /// How long a backlog waits for its client to drain before the hub looks again.
    static let backlogPause: UInt64 = 5_000_000

    private func pass() -> Next {
        let now = atrium_monotonic_ns()
        let heartbeatDue = now >= nextHeartbeat
        if heartbeatDue { nextHeartbeat = now &+ heartbeatNanoseconds }
        guard !subscribers.isEmpty else {
            seen = nil
            return .wait
        }
        let all = Array(subscribers.values)
        let read: PassRead
        do {
            read = try store.read { reader in try self.read(reader, subscribers: all, heartbeatDue: heartbeatDue) }
        } catch {
            // The store did not answer (busy, closing): try again shortly.
            return .soon
        }
        lastEpoch = read.epoch
        for id in read.revoked {
            guard let subscriber = subscribers[id] else { continue }
            subscriber.stream.send(ServerSentEvents.revoked)
            subscriber.stream.finish()
            remove(id)
        }
        var next: Next = read.events.count == Self.batchLimit ? .now : .wait
        for (id, backlog) in read.backlogs {
            guard let subscriber = subscribers[id] else { continue }
            guard !backlog.deferred else {
                if next == .wait { next = .soon }
                continue
            }
            for event in backlog.events { subscriber.outgoing += ServerSentEvents.text(for: event) }
            subscriber.cursor = backlog.reachedID
            if backlog.complete { subscriber.catchingUp = false } else if next == .wait { next = .soon }
        }
        fanOut(read.events)
        seen = read.seen
        for subscriber in subscribers.values {
            if heartbeatDue { subscriber.outgoing += ServerSentEvents.heartbeat }
            guard !subscriber.outgoing.isEmpty else { continue }
            let bytes = subscriber.outgoing
            subscriber.outgoing = []
            if !subscriber.stream.send(bytes) { remove(subscriber.id) }
        }
        return next
    }

    /// What one pass read in its snapshot.
    private struct PassRead: Sendable {
        var epoch: Int64
        /// Subscriber ids whose caller lost its admission or changed what it may see.
        var revoked: [Int] = []
        var events: [OutboxEvent] = []
        var seen: Int64
        var backlogs: [(id: Int, backlog: Backlog)] = []
    }

    private struct Backlog: Sendable {
        var events: [OutboxEvent]
        /// The id the stream has been given or passed over once these are sent.
        var reachedID: Int64
        var complete: Bool
        /// Not read: the client has not yet taken what it was sent.
        var deferred = false
    }

    private func read(_ reader: StoreReader, subscribers all: [EventSubscriber], heartbeatDue: Bool) throws
        -> PassRead {
        let epoch = try reader.tenancyEpoch()
        let start = try seen ?? reader.lastEventID()
        var result = PassRead(epoch: epoch, seen: start)
        let everyone = heartbeatDue || epoch != lastEpoch
        let now = Clock.nowMilliseconds()
        result.revoked = all.filter { subscriber in
            let expired = subscriber.subscription.credentialExpiresAt.map { $0 <= now } ?? false
            return (everyone || expired) && !Self.stillAdmitted(subscriber, reader: reader)
        }.map(\.id)
        result.events = try reader.outboxEvents(after: start, limit: Self.batchLimit)
        result.seen = result.events.last?.id ?? start
        let revokedIDs = Set(result.revoked)
        for subscriber in all where subscriber.catchingUp && !revokedIDs.contains(subscriber.id) {
            result.backlogs.append((subscriber.id, try backlog(subscriber, upTo: result.seen, reader: reader)))
        }
        return result
    }

    /// The events a catching-up stream has not had, up to `upTo`, at most about half its buffer.
    private func backlog(_ subscriber: EventSubscriber, upTo last: Int64, reader: StoreReader) throws -> Backlog {
        guard subscriber.cursor < last else { return Backlog(events: [], reachedID: subscriber.cursor, complete: true) }
        if subscriber.stream.waitingBytes > subscriber.stream.bufferLimit / 2 {
            return Backlog(events: [], reachedID: subscriber.cursor, complete: false, deferred: true)
        }
        let page = try reader.events(subscriber.masks.groups, from: .oldestAfter(subscriber.cursor),
                                     limit: Self.batchLimit).filter { $0.id <= last }
        var budget = subscriber.stream.bufferLimit / 2
        var taken: [OutboxEvent] = []
        for event in page {
            budget -= event.data.utf8.count + 200
            if budget < 0 && !taken.isEmpty { break }
            taken.append(event)
        }
        let complete = taken.count == page.count && page.count < Self.batchLimit
        return Backlog(events: taken, reachedID: complete ? last : (taken.last?.id ?? subscriber.cursor),
                       complete: complete)
    }

    /// Each event's text is made once and appended to every stream that may see it.
    private func fanOut(_ events: [OutboxEvent]) {
        for event in events {
            guard let listeners = byWorkspace[event.workspaceID] else { continue }
            var text: [UInt8]?
            for subscriber in listeners
            where !subscriber.catchingUp && event.id > subscriber.cursor && subscriber.masks.shows(event) {
                if text == nil { text = ServerSentEvents.text(for: event) }
                subscriber.outgoing += text ?? []
            }
        }
    }

    /// Re-runs the stream's admission in this snapshot: the credential (a session not revoked
    /// and its access token not expired, a key not deleted or expired), the workspaces
    /// (still live, still a member, still on the key's allow-list), the plan's key rule, and
    /// what the caller may see there. A stream whose visibility changed in any way ends: the
    /// client reconnects (with `Last-Event-ID`) and gets its new view, or its error.
    private static func stillAdmitted(_ subscriber: EventSubscriber, reader: StoreReader) -> Bool {
        let request = subscriber.subscription.request
        let services = request.services
        do {
            let (principal, keyRow) = try services.authenticator.authenticate(
                request.http, reader: reader, now: Clock.nowMilliseconds())
            let account = AccountRequest(
                http: request.http, context: request.context, services: services, query: request.query,
                now: request.now, principal: principal, keyRow: keyRow, selector: request.selector,
                scope: NoWorkspace())
            let set = try EndpointResponder.resolveList(account, needs: [], reader: reader, services: services)
            return EventTypeMasks(set.workspaces, wanted: subscriber.subscription.wanted) == subscriber.masks
        } catch {
            return false
        }
    }
}
