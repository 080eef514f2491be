/// A clock the test moves by hand, in the event loop's unit (monotonic nanoseconds), so
/// timeouts are tested without sleeping.
struct FakeClock {
    private(set) var now: UInt64 = 1_000_000_000

    mutating func advance(seconds: Double) {
        now += UInt64(seconds * 1e9)
    }
}
