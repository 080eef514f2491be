import AtriumPostgres
import AtriumSystem
import Glibc

/// Gives committed PostgreSQL outbox events their `seq`, in order, after their transactions
/// committed (migrations/postgres/0010): the one place that orders events on that engine.
///
/// Why: ids are taken when a transaction inserts and transactions commit in any order, so a
/// reader moving past an id could skip an event that commits late. The sequencer numbers only
/// events it can already see committed, in one transaction at a time (the row lock on
/// `outbox_sequence` serializes sequencers, also across instances), so each run's numbers
/// are all greater than every number before: a reader going by `seq` never skips one.
///
/// It runs on its own thread and connection. A commit that wrote events wakes it (`wake`);
/// it also looks every `pollMilliseconds` for events other instances committed. After a run
/// that numbered events it tells the store's commit observers (the webhook dispatcher, the
/// event streams), which therefore always find the new events readable.
///
/// Other instances hear of it through PostgreSQL: after such a run the sequencer sends one
/// `NOTIFY atrium_outbox` on its own connection, outside every request transaction (a NOTIFY
/// inside one holds a cluster-wide lock through its commit), at most one per
/// `notifyIntervalMilliseconds`; each instance's `ClusterListener` wakes its observers from
/// it. The payload is this instance's `instanceID`, so an instance ignores its own.
/// `announce` sends other cluster notices (an endpoint changed) the same way.
///
/// `@unchecked Sendable`: `state` (the wake flag, the stop flag, the observers and the
/// announcements) is only touched under `monitor`; the connection is used by the sequencer's
/// thread alone.
final class OutboxSequencer: @unchecked Sendable {
    private let url: String
    private let pollMilliseconds: Int
    /// Names this instance in its notifications, so its own listener skips them.
    let instanceID: String
    /// The shortest gap between two `NOTIFY atrium_outbox` of this instance.
    static let notifyIntervalMilliseconds: Int64 = 5
    /// The channel that tells other instances events were numbered (or a commit asked to be
    /// heard: a revocation moves the tenancy counter that open streams re-check).
    static let outboxChannel = "atrium_outbox"
    /// Notices waiting for the sequencer's connection: (channel, payload).
    private var announcements: [(channel: String, payload: String)] = []
    private let log: @Sendable (String) -> Void
    private let monitor = ConditionLock()
    private var woken = false
    private var stopping = false
    private var stopped = false
    private var observers: [@Sendable () -> Void] = []
    /// Runs asked for (`wake`) and runs finished: a run that starts after the request with
    /// number n has numbered everything committed before it, so it finishes request n.
    private var requested: UInt64 = 0
    private var finished: UInt64 = 0
    /// Writes that wait for their events to be numbered, with the request they wait for.
    private var waiting: [(request: UInt64, resume: @Sendable () -> Void)] = []
    private var thread: pthread_t?
    /// The most events one transaction numbers.
    static let batchLimit = 1000

    init(url: String, instanceID: String, pollMilliseconds: Int = 200,
         log: @escaping @Sendable (String) -> Void) {
        self.url = url
        self.instanceID = instanceID
        self.pollMilliseconds = pollMilliseconds
        self.log = log
    }

    /// Sends `NOTIFY channel, '<instanceID>:<payload>'` from the sequencer's connection soon,
    /// outside any transaction. Best effort: a notice lost with the connection is covered by
    /// the listeners' polls.
    func announce(channel: String, payload: String) {
        monitor.withLock {
            announcements.append((channel, instanceID + ":" + payload))
            woken = true
            monitor.signal()
        }
    }

    /// Tells every observer that something was committed (by another instance, as a
    /// notification said): they read what is new.
    func notifyObservers() {
        let observing = monitor.withLock { observers }
        for observer in observing { observer() }
    }

    func start() {
        thread = OSThread.spawn(name: "atrium-sequencer") { [self] in run() }
    }

    func addObserver(_ observer: @escaping @Sendable () -> Void) {
        monitor.withLock { observers.append(observer) }
    }

    /// A commit wrote events: number them now.
    func wake() {
        monitor.withLock {
            woken = true
            requested += 1
            monitor.signal()
        }
    }

    /// Calls `resume` once the events of a write that has committed are numbered, so that
    /// whoever is answered after it finds them in `GET /v1/events` and the streams, as on
    /// SQLite. Runs it at once when the sequencer has stopped.
    func afterNumbering(_ resume: @escaping @Sendable () -> Void) {
        let now: Bool = monitor.withLock {
            if stopped { return true }
            woken = true
            requested += 1
            waiting.append((requested, resume))
            monitor.signal()
            return false
        }
        if now { resume() }
    }

    /// Blocks until the events of a write that has committed are numbered.
    func waitForNumbering() {
        let signal = NumberingSignal()
        afterNumbering { signal.fire() }
        signal.wait()
    }

    /// Numbers what is pending, then stops the thread. Idempotent.
    func stop() {
        let joinable: pthread_t? = monitor.withLock {
            if stopping { return nil }
            stopping = true
            monitor.broadcast()
            return thread
        }
        if let joinable { pthread_join(joinable, nil) }
    }

    private func run() {
        var connection: PostgresConnection?
        var failures = 0
        var previous: UInt64 = 0
        var notifier = ClusterNotifier(instanceID: instanceID)
        while true {
            let (finishing, covering, notices) = monitor.withLock {
                () -> (Bool, UInt64, [(channel: String, payload: String)]) in
                if !woken && !stopping {
                    let wait = notifier.waitMilliseconds(poll: Int64(pollMilliseconds))
                    monitor.wait(nanoseconds: UInt64(wait) * 1_000_000)
                }
                woken = false
                defer { announcements.removeAll() }
                return (stopping, requested, announcements)
            }
            do {
                let open = try connection ?? PostgresConnection(url: url)
                connection = open
                var numbered = 0
                while true {
                    let count = try sequence(SQLConnection.postgres(open))
                    numbered += count
                    if count < Self.batchLimit { break }
                }
                failures = 0
                let (observing, resuming) = monitor.withLock {
                    finished = covering
                    let due = waiting.filter { $0.request <= covering }
                    waiting.removeAll { $0.request <= covering }
                    return (observers, due)
                }
                for write in resuming { write.resume() }
                // Observers also hear of commits that wrote no event (a revocation moves the
                // tenancy counter, which open streams re-check).
                if numbered > 0 || covering > previous {
                    for observer in observing { observer() }
                    notifier.owe()
                }
                previous = covering
                try notifier.send(notices, on: open)
            } catch {
                failures += 1
                // The writes waiting here have committed; only their numbering lags. Answer
                // them rather than hold requests while the database is unreachable.
                let stranded = monitor.withLock {
                    let due = waiting.filter { $0.request <= covering }
                    waiting.removeAll { $0.request <= covering }
                    return due
                }
                for write in stranded { write.resume() }
                if failures == 1 || failures % 100 == 0 {
                    log("atrium: the outbox sequencer failed (\(failures) in a row), retrying: \(error)")
                }
                if connection?.isOpen == false { connection = nil }
                if !finishing { usleep(UInt32(min(failures, 20)) * 50_000) }
            }
            if finishing {
                let left = monitor.withLock {
                    stopped = true
                    defer { waiting.removeAll() }
                    return waiting
                }
                for write in left { write.resume() }
                return
            }
        }
    }

    /// Numbers up to `batchLimit` committed events without a `seq`, in id order, in one
    /// transaction; returns how many.
    func sequence(_ connection: SQLConnection) throws(SQLError) -> Int {
        // A look without a lock first: an idle poll then writes nothing (a row lock would
        // dirty the sequence row's page five times a second).
        guard try !connection.query("SELECT 1 FROM outbox WHERE seq IS NULL LIMIT 1").isEmpty else { return 0 }
        try connection.execute("BEGIN")
        do throws(SQLError) {
            let last = try connection.query("SELECT value FROM outbox_sequence WHERE id = 1 FOR UPDATE")
            guard case .integer(let base)? = last.first?.first else {
                throw SQLError(.other, message: "outbox_sequence has no row", sql: nil)
            }
            let pending = try connection.query(
                "SELECT id FROM outbox WHERE seq IS NULL ORDER BY id LIMIT ?", [.integer(Int64(Self.batchLimit))])
            let ids = pending.compactMap { row -> Int64? in
                if case .integer(let id)? = row.first { return id }
                return nil
            }
            if !ids.isEmpty {
                let array = "{" + ids.map(String.init).joined(separator: ",") + "}"
                try connection.run("""
                    UPDATE outbox SET seq = ?1 + array_position(CAST(?2 AS BIGINT[]), id)
                    WHERE id = ANY (CAST(?2 AS BIGINT[]))
                    """, [.integer(base), .text(array)])
                try connection.run("UPDATE outbox_sequence SET value = ? WHERE id = 1",
                                   [.integer(base + Int64(ids.count))])
            }
            try connection.execute("COMMIT")
            return ids.count
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}

/// One write's wait for the sequencer (`OutboxSequencer.waitForNumbering`).
///
/// `@unchecked Sendable`: `fired` is only read and written under `lock`.
private final class NumberingSignal: @unchecked Sendable {
    private let lock = ConditionLock()
    private var fired = false

    func fire() {
        lock.withLock {
            fired = true
            lock.signal()
        }
    }

    func wait() {
        lock.withLock {
            while !fired { lock.wait() }
        }
    }
}
