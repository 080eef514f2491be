/// How the dispatcher delivers (docs/webhooks.md "Configuration").
public struct DispatcherConfiguration: Sendable {
    /// Attempts in flight at once, over all endpoints.
    public var concurrency = 16
    /// Attempts in flight to one endpoint, so a slow receiver holds only a few workers.
    public var perEndpointConcurrency = 4
    public var retrySchedule = RetrySchedule()
    /// Outbox events routed per transaction.
    public var routeBatchSize = 500
    /// Routed events and finished attempts are forgotten after this long.
    public var retentionMilliseconds: Int64 = 7 * 24 * 3_600_000

    public init() {}
}
