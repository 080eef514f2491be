/// The server's timeouts in the unit the event loop's clock counts (monotonic nanoseconds),
/// converted once from the configuration's seconds.
///
/// It exists so that the connection state machine compares integers on every tick instead of
/// converting `Double` seconds for every connection, and so tests can state timeouts exactly.
struct ConnectionTimeouts: Sendable, Equatable {
    /// From a head's first byte to its blank line (`--header-timeout`).
    var header: UInt64
    /// From the moment a body is first waited for to its last byte (`--body-timeout`).
    var body: UInt64
    /// Keep-alive wait for a next request, and the longest a stalled write may make no progress.
    var idle: UInt64
    /// How long a lingering close drains the client's input (shorter during shutdown).
    var drain: UInt64
    var drainWhileShuttingDown: UInt64

    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    init(header: UInt64, body: UInt64, idle: UInt64,
         drain: UInt64 = 2 * nanosecondsPerSecond, drainWhileShuttingDown: UInt64 = nanosecondsPerSecond / 5) {
        self.header = header
        self.body = body
        self.idle = idle
        self.drain = drain
        self.drainWhileShuttingDown = drainWhileShuttingDown
    }

    init(_ configuration: HTTPServerConfiguration) {
        self.init(header: Self.nanoseconds(configuration.headerTimeoutSeconds),
                  body: Self.nanoseconds(configuration.bodyTimeoutSeconds),
                  idle: Self.nanoseconds(configuration.idleTimeoutSeconds))
    }

    /// Seconds as nanoseconds; negative, NaN or absurd values clamp instead of trapping.
    static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard seconds > 0 else { return 0 }
        let value = seconds * 1e9
        return value < Double(UInt64.max / 2) ? UInt64(value) : UInt64.max / 2
    }
}
