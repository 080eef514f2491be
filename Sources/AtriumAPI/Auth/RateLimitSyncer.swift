import AtriumStore
import AtriumSystem
import Glibc
import Synchronization

/// Shares the request rates of several instances on PostgreSQL (configuration.md, "Request
/// rates"): every 250 ms, one write adds each scope's takes since the last sync to this
/// instance's row of the scope's shared counter (`rate_counters`, one row per scope, instance
/// and minute window: never a write per request) and reads back the cluster's totals, which
/// the `RateLimiter` then enforces beside its local buckets. Never started on SQLite.
final class RateLimitSyncer: Sendable {
    /// How often the counts are shared, in milliseconds (the tolerance's "0.25 s").
    static let interval: Int64 = 250

    private let limiter: RateLimiter
    private let store: Store
    private let stopped = Atomic<Bool>(false)

    init(limiter: RateLimiter, store: Store) {
        self.limiter = limiter
        self.store = store
    }

    /// Starts the syncing thread; `stop` ends it after its current sync.
    func start() {
        OSThread.spawn(name: "atrium-ratesync") { [self] in
            var syncs: Int64 = 0
            while !stopped.load(ordering: .acquiring) {
                usleep(UInt32(Self.interval * 1000))
                sync()
                syncs += 1
                if syncs % 240 == 0 { purge() }
            }
        }
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
    }

    /// One round trip: adds the takes, reads the totals, hands them to the limiter. A failed
    /// write keeps the takes pending for the next round (the limiter still holds them).
    func sync() {
        let (windowStart, deltas, active) = limiter.unsynced()
        let names = Dictionary(uniqueKeysWithValues: active.map { ($0, RateLimiter.counterName($0)) })
        let rows = deltas.map { RateCounterDelta(scope: RateLimiter.counterName($0.key), delta: $0.value) }
        let instance = store.instanceID
        let scopeNames = Array(names.values)
        guard let read = try? store.write({ writer in
            try writer.addRateCounters(rows, scopes: scopeNames, instance: instance, windowStart: windowStart)
        }) else { return }
        var totals: [RateLimiter.Scope: Int64] = [:]
        for (scope, name) in names { totals[scope] = read[name]?.total ?? 0 }
        limiter.applySync(windowStart: windowStart, sent: deltas, totals: totals,
                          liveInstances: read[""]?.instances ?? 1)
    }

    /// Deletes the windows older than the one before the current (about once a minute).
    private func purge() {
        let cutoff = Clock.nowMilliseconds() / 60_000 * 60_000 - 60_000
        _ = try? store.write { writer in try writer.purgeRateCounters(before: cutoff) }
    }
}
