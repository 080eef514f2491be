/// When a failed attempt is tried again (api.md §6): about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
/// and 10 h after each failure, eight attempts in all. Tests shrink the whole schedule by
/// giving a smaller first delay; the later ones keep their ratio to it.
public struct RetrySchedule: Sendable, Equatable {
    public static let standardMilliseconds: [Int64] = [
        5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]
    /// The longest a receiver's `Retry-After` may push an attempt back.
    public static let maxRetryAfterMilliseconds: Int64 = 24 * 3_600_000

    public let delaysMilliseconds: [Int64]

    /// `firstDelayMilliseconds` replaces the standard 5 s; the rest scale with it.
    public init(firstDelayMilliseconds: Int64 = 5_000) {
        let base = max(1, firstDelayMilliseconds)
        delaysMilliseconds = Self.standardMilliseconds.map { max(1, $0 / 5_000 * base) }
    }

    /// The number of attempts before a delivery is given up.
    public var maxAttempts: Int { delaysMilliseconds.count + 1 }

    /// The wait after failed attempt `attempt` (1-based); nil after the last one.
    public func delay(afterAttempt attempt: Int) -> Int64? {
        guard attempt >= 1, attempt <= delaysMilliseconds.count else { return nil }
        return delaysMilliseconds[attempt - 1]
    }
}
