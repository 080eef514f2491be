import AtriumPostgres
import AtriumSystem

/// The right to run a cluster-wide singleton — the webhook dispatcher — held by one instance
/// on the database at a time (server.md, "The outbox on PostgreSQL").
///
/// On PostgreSQL the holder is whoever holds the session advisory lock `key` on a dedicated
/// session (`PostgresSession`): PostgreSQL releases it when that session ends, also when its
/// process is killed, and a standby's next `tryAcquire` takes over. Each takeover moves the
/// role's epoch (`cluster_leaders`), and every write the holder makes checks its epoch in the
/// same transaction (`StoreWriter.requireClusterRole`), so an instance that lost the lock
/// without noticing yet cannot write after its successor started. On SQLite one process owns
/// the data directory, so the role is always this process's (with an epoch all the same).
///
/// `@unchecked Sendable`: `session`, `epoch` and `lastCheck` are only used under `mutex`.
public final class ClusterRole: @unchecked Sendable {
    public let name: String
    private let key: Int64
    private let store: Store
    private let url: String?
    private let mutex = PThreadMutex()
    private var session: PostgresSession?
    private var epoch: Int64?
    private var lastCheck: Int64 = 0
    /// How often `isHeld` asks the database that the lock's session is still alive.
    static let checkIntervalMilliseconds: Int64 = 500

    init(name: String, key: Int64, store: Store, url: String?) {
        self.name = name
        self.key = key
        self.store = store
        self.url = url
    }

    /// Takes the role if it is free; returns the new epoch when this instance now holds it
    /// (or still does), nil when another instance holds it.
    public func tryAcquire() throws -> Int64? {
        mutex.lock()
        defer { mutex.unlock() }
        if let epoch { return epoch }
        if let url {
            let open = try session ?? PostgresSession(url: url)
            session = open
            do {
                guard try open.tryAdvisoryLock(key) else { return nil }
            } catch {
                open.close()
                session = nil
                throw error
            }
        }
        let role = name
        let holder = store.instanceID
        do {
            let taken = try store.write { writer in
                try writer.takeClusterRole(role, holder: holder, now: Clock.nowMilliseconds())
            }
            epoch = taken
            lastCheck = Clock.nowMilliseconds()
            return taken
        } catch {
            session?.close()
            session = nil
            throw error
        }
    }

    /// The epoch while this instance holds the role; nil once the lock's session is gone
    /// (checked against the database at most every `checkIntervalMilliseconds`).
    public func heldEpoch() -> Int64? {
        mutex.lock()
        defer { mutex.unlock() }
        guard let held = epoch else { return nil }
        guard let session else { return held }
        let now = Clock.nowMilliseconds()
        if now - lastCheck < Self.checkIntervalMilliseconds { return held }
        do {
            try session.ping()
            lastCheck = now
            return held
        } catch {
            session.close()
            self.session = nil
            epoch = nil
            return nil
        }
    }

    /// Gives the role up (closing the lock's session, so the lock is surely released).
    public func release() {
        mutex.lock()
        defer { mutex.unlock() }
        epoch = nil
        // Unlock before closing: closing alone frees the lock only once the server has ended
        // the backend, a moment later, and another instance asking meanwhile is refused.
        _ = try? session?.advisoryUnlock(key)
        session?.close()
        session = nil
    }
}

extension Store {
    /// The cluster role `name`, decided by the advisory lock `key` on PostgreSQL.
    public func clusterRole(_ name: String, key: Int64) -> ClusterRole {
        ClusterRole(name: name, key: key, store: self, url: cluster?.url)
    }
}
