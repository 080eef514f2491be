import Synchronization

/// Per-plan request rates (api.md §1 "Rate limits"): a token bucket per workspace
/// (`requests_per_minute`) and per API key (`key_requests_per_minute`), kept in memory, so a
/// request costs one lock and no store write.
///
/// A bucket holds at most a minute's allowance and refills continuously (`limit / 60` tokens
/// a second); a request takes one token or is refused with the time until the next one. The
/// clock is injected, so the arithmetic is tested without sleeping.
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
    }

    private let buckets = Mutex<[Scope: Bucket]>([:])
    private let clock: @Sendable () -> Int64

    /// `clock` gives milliseconds; any monotonic origin will do.
    init(clock: @escaping @Sendable () -> Int64) {
        self.clock = clock
    }

    /// Takes one request from each of `limits` (scope → requests per minute), all or none: a
    /// request refused by one bucket is not charged to the others. Returns each scope's quota.
    func take(_ limits: [(scope: Scope, perMinute: Int)]) -> [Quota] {
        let now = clock()
        return buckets.withLock { buckets in
            var updated: [Bucket] = []
            var allowed = true
            for (scope, perMinute) in limits {
                let capacity = Double(perMinute)
                var bucket = buckets[scope] ?? Bucket(tokens: capacity, updatedAt: now)
                let elapsed = Double(max(0, now - bucket.updatedAt))
                bucket.tokens = min(capacity, bucket.tokens + elapsed * capacity / 60_000)
                bucket.updatedAt = now
                if bucket.tokens < 1 { allowed = false }
                updated.append(bucket)
            }
            var quotas: [Quota] = []
            for (index, (scope, perMinute)) in limits.enumerated() {
                var bucket = updated[index]
                let perMillisecond = Double(perMinute) / 60_000
                var retryAfter: Int?
                if allowed {
                    bucket.tokens -= 1
                } else if bucket.tokens < 1 {
                    retryAfter = max(1, Self.wholeSeconds((1 - bucket.tokens) / perMillisecond))
                }
                buckets[scope] = bucket
                let reset = Self.wholeSeconds((Double(perMinute) - bucket.tokens) / perMillisecond)
                quotas.append(Quota(limit: perMinute, remaining: max(0, Int(bucket.tokens)), resetSeconds: reset,
                                    retryAfterSeconds: retryAfter))
            }
            if buckets.count > 100_000 { Self.forgetFull(&buckets, now: now) }
            return quotas
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
