import AtriumPostgres
import Glibc
import Synchronization

/// What a store on PostgreSQL shares with the other instances on its database: who it is
/// (`instanceID`), the notices it sends them (through its sequencer's connection) and the
/// ones it hears from them (`ClusterListener`).
///
/// Why a type of its own: on SQLite there is one process per data directory and none of this
/// exists; on PostgreSQL every instance must learn of the others' events and endpoint changes
/// without waiting for a poll.
final class StoreCluster: Sendable {
    let url: String
    let instanceID: String
    let sequencer: OutboxSequencer
    private let endpointObservers = Mutex<[@Sendable (Int64) -> Void]>([])
    private let listener = Mutex<ClusterListener?>(nil)
    private let log: @Sendable (String) -> Void

    init(url: String, sequencer: OutboxSequencer, log: @escaping @Sendable (String) -> Void) {
        self.url = url
        self.instanceID = sequencer.instanceID
        self.sequencer = sequencer
        self.log = log
    }

    /// Starts listening; the first `listen` of a store starts it, so admin commands (which
    /// never observe) open no session for it.
    func startListening() {
        let started: ClusterListener? = listener.withLock { current in
            guard current == nil else { return nil }
            let created = ClusterListener(
                url: url, instanceID: instanceID, log: log,
                onOutbox: { [sequencer] in sequencer.notifyObservers() },
                onEndpoints: { [weak self] workspaceID in self?.endpointsChanged(workspaceID) })
            current = created
            return created
        }
        started?.start()
    }

    /// `observer` hears of endpoint changes made by other instances.
    func onEndpointsChanged(_ observer: @escaping @Sendable (Int64) -> Void) {
        endpointObservers.withLock { $0.append(observer) }
        startListening()
    }

    /// Tells the other instances that an endpoint of `workspaceID` changed.
    func announceEndpointsChanged(_ workspaceID: Int64) {
        sequencer.announce(channel: ClusterListener.webhooksChannel, payload: String(workspaceID))
    }

    func stop() {
        let running = listener.withLock { current -> ClusterListener? in
            defer { current = nil }
            return current
        }
        running?.stop()
    }

    private func endpointsChanged(_ workspaceID: Int64) {
        let observers = endpointObservers.withLock { $0 }
        for observer in observers { observer(workspaceID) }
    }

    /// A name for this process, unique on the cluster: host, pid and start time.
    static func makeInstanceID() -> String {
        var host = [CChar](repeating: 0, count: 256)
        _ = gethostname(&host, host.count - 1)
        let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let started = Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
        return "\(name.replacing(":", with: "_"))/\(getpid())/\(String(started, radix: 36))"
    }
}
