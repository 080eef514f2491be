@testable import AtriumAPI
import Synchronization
import Testing

/// The token buckets behind per-plan rate limits, on a clock the test moves by hand.
@Suite("Rate limiter")
struct RateLimiterTests {
    final class ManualClock: Sendable {
        let now = Atomic<Int64>(1_000_000)
        func advance(milliseconds: Int64) { now.add(milliseconds, ordering: .relaxed) }
    }

    @Test func aFullBucketAllowsItsMinuteThenRefusesWithTheTimeToTheNextToken() {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: { clock.now.load(ordering: .relaxed) })
        for expected in stride(from: 2, through: 0, by: -1) {
            let quota = limiter.take([(.workspace(1), 3)])[0]
            #expect(quota.retryAfterSeconds == nil)
            #expect(quota.remaining == expected)
            #expect(quota.limit == 3)
        }
        let refused = limiter.take([(.workspace(1), 3)])[0]
        #expect(refused.retryAfterSeconds == 20, "3 a minute: one token every 20 s")
        #expect(refused.remaining == 0)
        #expect(refused.resetSeconds == 60)
        clock.advance(milliseconds: 19_000)
        #expect(limiter.take([(.workspace(1), 3)])[0].retryAfterSeconds == 1)
        clock.advance(milliseconds: 1_000)
        #expect(limiter.take([(.workspace(1), 3)])[0].retryAfterSeconds == nil, "a token after 20 s")
        clock.advance(milliseconds: 120_000)
        #expect(limiter.take([(.workspace(1), 3)])[0].remaining == 2, "never more than a minute's allowance")
    }

    @Test func scopesAreSeparate() {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: { clock.now.load(ordering: .relaxed) })
        _ = limiter.take([(.workspace(1), 1)])
        #expect(limiter.take([(.workspace(1), 1)])[0].retryAfterSeconds != nil)
        #expect(limiter.take([(.workspace(2), 1)])[0].retryAfterSeconds == nil)
        #expect(limiter.take([(.key(1), 1)])[0].retryAfterSeconds == nil, "key 1 is not workspace 1")
    }

    @Test func aRefusalIsChargedToNoBucket() {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: { clock.now.load(ordering: .relaxed) })
        _ = limiter.take([(.key(7), 1)])
        let both = limiter.take([(.workspace(1), 10), (.key(7), 1)])
        #expect(both[0].retryAfterSeconds == nil && both[1].retryAfterSeconds != nil)
        #expect(both[0].remaining == 10, "the workspace bucket was not charged for a refused request")
        #expect(RateLimiter.tightest(both) == both[1])
        let allowed = limiter.take([(.workspace(1), 10), (.workspace(2), 5)])
        #expect(RateLimiter.tightest(allowed)?.limit == 5, "the one with the fewest requests left")
    }

    @Test func clusteredWithTwoLiveInstancesTakesAShareBetweenSyncsAndStopsAtTheClusterTotal() {
        let clock = ManualClock()
        clock.now.store(600_000, ordering: .relaxed)  // the start of a minute window
        let limiter = RateLimiter(clustered: true, clock: { clock.now.load(ordering: .relaxed) })
        let scope = RateLimiter.Scope.workspace(1)
        // Alone: the local bucket only, as on SQLite.
        for _ in 0..<20 { #expect(limiter.take([(scope, 60)])[0].retryAfterSeconds == nil) }
        var pending = limiter.unsynced()
        #expect(pending.windowStart == 600_000 && pending.deltas[scope] == 20)
        // Another instance took 25: 45 of 60, two live; the share is (60 - 45) / 4 = 3.
        limiter.applySync(windowStart: 600_000, sent: pending.deltas, totals: [scope: 45], liveInstances: 2)
        for _ in 0..<3 { #expect(limiter.take([(scope, 60)])[0].retryAfterSeconds == nil) }
        let shareSpent = limiter.take([(scope, 60)])[0]
        #expect(shareSpent.retryAfterSeconds == 1, "until the next sync")
        pending = limiter.unsynced()
        #expect(pending.deltas[scope] == 3)
        limiter.applySync(windowStart: 600_000, sent: pending.deltas, totals: [scope: 60], liveInstances: 2)
        clock.advance(milliseconds: 10_000)
        let refused = limiter.take([(scope, 60)])[0]
        #expect(refused.retryAfterSeconds == 50, "the end of the minute window")
        #expect(refused.remaining == 0)
        clock.advance(milliseconds: 50_000)
        #expect(limiter.take([(scope, 60)])[0].retryAfterSeconds == nil, "a new window")
    }

    @Test func takesOfAWindowThatEndedUnsyncedAreNotChargedToTheNext() {
        let clock = ManualClock()
        clock.now.store(659_900, ordering: .relaxed)  // 100 ms before a minute window ends
        let limiter = RateLimiter(clustered: true, clock: { clock.now.load(ordering: .relaxed) })
        let scope = RateLimiter.Scope.workspace(1)
        limiter.applySync(windowStart: 600_000, sent: [:], totals: [scope: 0], liveInstances: 2)
        // The share of an empty window with two instances is 60 / 4 = 15.
        for _ in 0..<15 { #expect(limiter.take([(scope, 60)])[0].retryAfterSeconds == nil) }
        #expect(limiter.take([(scope, 60)])[0].retryAfterSeconds == 1)
        clock.advance(milliseconds: 200)  // the next window begins before the next sync
        #expect(limiter.unsynced().deltas.isEmpty, "the old window's takes are not sent as the new one's")
        let first = limiter.take([(scope, 60)])[0]
        #expect(first.retryAfterSeconds == nil, "the new window's share is whole again")
        let pending = limiter.unsynced()
        #expect(pending.windowStart == 660_000 && pending.deltas[scope] == 1)
    }
}
