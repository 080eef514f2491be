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
}
