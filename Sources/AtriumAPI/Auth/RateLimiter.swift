import Synchronization

/// Per-plan request rates (api.md §1 "Rate limits"): a token bucket per workspace
/// (`requests_per_minute`) and per API key (`key_requests_per_minute`), kept in memory, so a
/// request costs one lock and no store write.
///
/// A bucket holds at most a minute's allowance and refills continuously (`limit / 60` tokens
/// a second); a request takes one token or is refused with the time until the next one. The
/// clock is injected, so the arithmetic is tested without sleeping.
///
/// With several instances on PostgreSQL (`clustered`), `RateLimitSyncer` adds each scope's
/// takes to a shared counter every 250 ms and feeds the cluster's total for the current minute
/// window back here (`applySync`). While more than one instance is live, a request is also
/// refused once the cluster's total (as last read, plus this instance's takes since) reached
/// the limit, and between two syncs an instance takes at most a share of what was left
/// (`max(1, (limit − total) / (2 × instances))`: halved again because the others' takes since
/// their last sync are not in the total yet), so a burst spread over the instances converges
/// on the limit instead of each instance spending a whole bucket unseen; the `max(1, …)` lets
/// it overshoot by up to `instances − 1` a window (configuration.md, "Request rates").
final class RateLimiter: Sendable {
    /// What a bucket is kept for.
    enum Scope: Hashable, Sendable {
        case workspace(Int64)
        case key(Int64)
    }

    /// The state of one scope after a request, for the `RateLimit-*` fields (the IETF httpapi
    /// draft "RateLimit header fields for HTTP", -06: `RateLimit-Limit`, `RateLimit-Remaining`,
    /// `RateLimit-Reset` in seconds).
    struct Quota: Sendable, Equatable {
        var limit: Int
        var remaining: Int
        /// Seconds until the bucket is full again.
        var resetSeconds: Int
        /// Seconds until one request is allowed again; nil when this one was allowed.
        var retryAfterSeconds: Int?

        var headers: [(name: String, value: String)] {
            [("RateLimit-Limit", String(limit)), ("RateLimit-Remaining", String(remaining)),
             ("RateLimit-Reset", String(resetSeconds))]
        }
    }

    private struct Bucket {
        var tokens: Double
        var updatedAt: Int64
        /// Taken here since the last sync (clustered only), in the window `unsyncedWindow`:
        /// takes of a window that ended unsynced are dropped, never counted in the next one.
        var unsynced: Int64 = 0
        var unsyncedWindow: Int64 = -1
        /// The minute window (`now / 60_000`) of `clusterTotal`, and the cluster's total then.
        var clusterWindow: Int64 = -1
        var clusterTotal: Int64 = 0
    }

    private let buckets = Mutex<[Scope: Bucket]>([:])
    private let clock: @Sendable () -> Int64
    /// Whether a syncer shares the counts (PostgreSQL); never on SQLite.
    let clustered: Bool
    /// The live instances the last sync saw; the cluster checks apply only above one.
    private let liveInstances = Atomic<Int>(1)

    /// `clock` gives milliseconds; any monotonic origin will do, unless `clustered`, where it
    /// must be the wall clock (instances agree on minute windows).
    init(clustered: Bool = false, clock: @escaping @Sendable () -> Int64) {
        self.clustered = clustered
        self.clock = clock
    }

    /// Takes one request from each of `limits` (scope → requests per minute), all or none: a
    /// request refused by one bucket is not charged to the others. Returns each scope's quota.
    func take(_ limits: [(scope: Scope, perMinute: Int)]) -> [Quota] {
        let now = clock()
        let instances = clustered ? liveInstances.load(ordering: .relaxed) : 1
        let window = now / 60_000
        return buckets.withLock { buckets in
            var updated: [Bucket] = []
            var clusterWaits: [Int?] = []
            var allowed = true
            for (scope, perMinute) in limits {
                let capacity = Double(perMinute)
                var bucket = buckets[scope] ?? Bucket(tokens: capacity, updatedAt: now)
                let elapsed = Double(max(0, now - bucket.updatedAt))
                bucket.tokens = min(capacity, bucket.tokens + elapsed * capacity / 60_000)
                bucket.updatedAt = now
                if bucket.unsyncedWindow != window {
                    bucket.unsynced = 0
                    bucket.unsyncedWindow = window
                }
                if bucket.tokens < 1 { allowed = false }
                let wait = instances > 1 ? Self.clusterWait(bucket, perMinute: perMinute, window: window,
                                                            instances: instances, now: now) : nil
                if wait != nil { allowed = false }
                clusterWaits.append(wait)
                updated.append(bucket)
            }
            var quotas: [Quota] = []
            for (index, (scope, perMinute)) in limits.enumerated() {
                var bucket = updated[index]
                let perMillisecond = Double(perMinute) / 60_000
                var retryAfter: Int?
                if allowed {
                    bucket.tokens -= 1
                    if clustered { bucket.unsynced += 1 }
                } else if bucket.tokens < 1 {
                    retryAfter = max(1, Self.wholeSeconds((1 - bucket.tokens) / perMillisecond))
                }
                if let wait = clusterWaits[index] { retryAfter = max(retryAfter ?? 0, wait) }
                buckets[scope] = bucket
                var remaining = max(0, Int(bucket.tokens))
                var reset = Self.wholeSeconds((Double(perMinute) - bucket.tokens) / perMillisecond)
                if instances > 1 {
                    let known = bucket.clusterWindow == window ? bucket.clusterTotal : 0
                    let left = max(0, Int(Int64(perMinute) - known - bucket.unsynced))
                    if left < remaining {
                        remaining = left
                        reset = max(reset, Self.wholeSeconds(Double((window + 1) * 60_000 - now)))
                    }
                }
                quotas.append(Quota(limit: perMinute, remaining: remaining, resetSeconds: reset,
                                    retryAfterSeconds: retryAfter))
            }
            if buckets.count > 100_000 { Self.forgetFull(&buckets, now: now) }
            return quotas
        }
    }

    /// Seconds until the cluster allows a request of this scope, or nil when it does now: the
    /// end of the window once the cluster's total reached the limit, else one second (the next
    /// sync) once this instance took its share of what the last sync left.
    private static func clusterWait(_ bucket: Bucket, perMinute: Int, window: Int64, instances: Int,
                                    now: Int64) -> Int? {
        let limit = Int64(perMinute)
        let known = bucket.clusterWindow == window ? bucket.clusterTotal : 0
        if known + bucket.unsynced >= limit {
            return max(1, wholeSeconds(Double((window + 1) * 60_000 - now)))
        }
        let share = max(1, (limit - known) / Int64(2 * instances))
        return bucket.unsynced >= share ? 1 : nil
    }

    /// The name of a scope's shared counter row.
    static func counterName(_ scope: Scope) -> String {
        switch scope {
        case .workspace(let id): return "w:\(id)"
        case .key(let id): return "k:\(id)"
        }
    }

    /// For the syncer: the current window (milliseconds at its start), each scope's takes
    /// since the last sync, and the scopes active in the last minute (whose totals to read).
    func unsynced() -> (windowStart: Int64, deltas: [Scope: Int64], active: [Scope]) {
        let now = clock()
        let window = now / 60_000
        return buckets.withLock { buckets in
            var deltas: [Scope: Int64] = [:]
            var active: [Scope] = []
            for (scope, bucket) in buckets where now - bucket.updatedAt < 60_000 {
                active.append(scope)
                if bucket.unsynced > 0 && bucket.unsyncedWindow == window { deltas[scope] = bucket.unsynced }
            }
            return (now / 60_000 * 60_000, deltas, active)
        }
    }

    /// For the syncer, after a sync succeeded: `sent` is no longer pending, and `totals` are
    /// the cluster's counts in the window starting at `windowStart` (a scope missing: not read).
    func applySync(windowStart: Int64, sent: [Scope: Int64], totals: [Scope: Int64], liveInstances live: Int) {
        liveInstances.store(max(1, live), ordering: .relaxed)
        let window = windowStart / 60_000
        buckets.withLock { buckets in
            for (scope, count) in sent {
                guard var bucket = buckets[scope], bucket.unsyncedWindow == window else { continue }
                bucket.unsynced = max(0, bucket.unsynced - count)
                buckets[scope] = bucket
            }
            for (scope, total) in totals {
                guard var bucket = buckets[scope], bucket.clusterWindow <= window else { continue }
                bucket.clusterWindow = window
                bucket.clusterTotal = total
                buckets[scope] = bucket
            }
        }
    }

    /// Milliseconds as whole seconds, rounded up, ignoring the last bits of floating-point noise
    /// (a refill of exactly one second must not read as two).
    static func wholeSeconds(_ milliseconds: Double) -> Int {
        Int((milliseconds / 1000 - 1e-9).rounded(.up))
    }

    /// Drops buckets that have been idle for over a minute (they would be full again), so
    /// memory stays bounded by the scopes active in the last minute.
    private static func forgetFull(_ buckets: inout [Scope: Bucket], now: Int64) {
        buckets = buckets.filter { now - $0.value.updatedAt < 60_000 }
    }

    /// Of several quotas, the one a client should heed: a refusal first, else the one with
    /// the fewest requests left.
    static func tightest(_ quotas: [Quota]) -> Quota? {
        quotas.min { lhs, rhs in
            if (lhs.retryAfterSeconds != nil) != (rhs.retryAfterSeconds != nil) { return lhs.retryAfterSeconds != nil }
            return lhs.remaining < rhs.remaining
        }
    }
}
