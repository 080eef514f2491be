import Glibc

/// A point on the monotonic clock: one attempt has one overall budget, so every wait
/// (connect, handshake, each read) gets only what is left of it.
struct Deadline {
    private let nanoseconds: UInt64

    init(secondsFromNow seconds: Double) {
        let clamped = max(0, min(seconds, 86_400))
        nanoseconds = Deadline.now() &+ UInt64(clamped * 1_000_000_000)
    }

    /// Milliseconds left, rounded up; 0 when the deadline has passed.
    var remainingMilliseconds: Int32 {
        let current = Deadline.now()
        guard current < nanoseconds else { return 0 }
        return Int32(clamping: (nanoseconds - current + 999_999) / 1_000_000)
    }

    private static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
