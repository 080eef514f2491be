import AtriumPostgres
import AtriumSystem
import Glibc
import Synchronization

/// Hears what other instances on the same PostgreSQL database announce, on a dedicated
/// session (`PostgresSession`: LISTEN cannot go through the pools): `atrium_outbox` (events
/// were numbered, or a commit moved the tenancy counter) wakes the store's commit observers —
/// the event streams and the webhook dispatcher — and `atrium_webhooks` (an endpoint was
/// created, changed or deleted) tells the dispatcher which workspace to reload.
///
/// Why: without it an instance learns of another's commits only from its polls. The polls
/// stay as the safety net: a notification lost while the session reconnects costs latency,
/// never an event. After each (re)connection the observers are woken once, for whatever was
/// committed while nobody listened.
final class ClusterListener: Sendable {
    static let webhooksChannel = "atrium_webhooks"
    private let url: String
    private let instanceID: String
    private let onOutbox: @Sendable () -> Void
    private let onEndpoints: @Sendable (Int64) -> Void
    private let log: @Sendable (String) -> Void
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<pthread_t?>(nil)

    init(url: String, instanceID: String, log: @escaping @Sendable (String) -> Void,
         onOutbox: @escaping @Sendable () -> Void, onEndpoints: @escaping @Sendable (Int64) -> Void) {
        self.url = url
        self.instanceID = instanceID
        self.log = log
        self.onOutbox = onOutbox
        self.onEndpoints = onEndpoints
    }

    func start() {
        let spawned = OSThread.spawn(name: "atrium-listen") { [self] in run() }
        thread.withLock { $0 = spawned }
    }

    /// Stops listening within one wait (250 ms) and closes the session.
    func stop() {
        stopping.store(true, ordering: .releasing)
        if let running = thread.withLock({ value -> pthread_t? in defer { value = nil }; return value }) {
            OSThread.join(running)
        }
    }

    private func run() {
        var session: PostgresSession?
        var failures = 0
        while !stopping.load(ordering: .acquiring) {
            do {
                let open = try session ?? connect()
                if session == nil {
                    session = open
                    failures = 0
                    onOutbox()
                }
                handle(try open.notifications(timeoutMilliseconds: 250))
            } catch {
                failures += 1
                if failures == 1 || failures % 100 == 0 {
                    log("atrium: the cluster listener lost its PostgreSQL session (\(failures) in a row), "
                        + "retrying: \(error)")
                }
                session?.close()
                session = nil
                usleep(UInt32(min(failures, 10)) * 100_000)
            }
        }
        session?.close()
    }

    private func connect() throws(PostgresError) -> PostgresSession {
        let session = try PostgresSession(url: url)
        try session.listen(channel: OutboxSequencer.outboxChannel)
        try session.listen(channel: Self.webhooksChannel)
        return session
    }

    /// Acts on what arrived: one wake for any number of outbox notices, one reload per
    /// workspace; this instance's own notices are skipped (it acted on them already).
    private func handle(_ notifications: [PostgresNotification]) {
        var outbox = false
        var workspaces: Set<Int64> = []
        for notification in notifications {
            let sender = notification.payload.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            if sender.first.map(String.init) == instanceID { continue }
            switch notification.channel {
            case OutboxSequencer.outboxChannel:
                outbox = true
            case Self.webhooksChannel:
                if sender.count == 2, let workspaceID = Int64(sender[1]) { workspaces.insert(workspaceID) }
            default:
                continue
            }
        }
        if outbox { onOutbox() }
        for workspaceID in workspaces.sorted() { onEndpoints(workspaceID) }
    }
}
