/// How the dispatcher delivers (docs/webhooks.md "Configuration").
public struct DispatcherConfiguration: Sendable {
    /// Attempts in flight at once, over all endpoints.
    public var concurrency = 16
    /// Attempts in flight to one endpoint, so a slow receiver holds only a few workers.
    public var perEndpointConcurrency = 4
    public var retrySchedule = RetrySchedule()
    /// Outbox events routed per transaction.
    public var routeBatchSize = 500
    /// Events and finished attempts are forgotten after this long (`--event-retention`), once
    /// every active endpoint is past them and no pending retry still reads them.
    public var retentionMilliseconds: Int64 = 7 * 24 * 3_600_000

    /// How often the purge runs: hourly, or more often for a short retention.
    public var purgeIntervalMilliseconds: Int64 { max(1000, min(3_600_000, retentionMilliseconds / 2)) }

    public init() {}
}
