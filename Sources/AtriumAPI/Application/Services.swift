import AtriumAuth
import AtriumHTTP
import AtriumOutbound
import AtriumStore
import AtriumWebhooks

/// The long-lived collaborators handlers use, built once at start-up.
public final class Services: Sendable {
    public let configuration: AtriumConfiguration
    public let store: Store
    public let codec: JWTCodec
    public let passwordHasher: PasswordHasher
    public let keyUsage: KeyUsageRecorder
    public let requestCounts: UsageCounter
    public let plans: PlanCatalog
    let authenticator: Authenticator
    /// Who a request comes from, behind `--trusted-proxies` or not.
    public let clientAddresses: ClientAddressResolver
    /// Runs password hashing, apart from the general worker pool.
    public let passwordPool: WorkerPool
    /// Runs read-only endpoints: few threads (one per core), so reads never pay for the
    /// context switches of the large pool that write handlers need to fill group commits.
    public let readPool: WorkerPool
    /// The plans' request rates, per workspace and per key (in memory).
    let rateLimiter: RateLimiter
    /// Shares `rateLimiter`'s counts between instances (started only on PostgreSQL).
    let rateSyncer: RateLimitSyncer
    /// Delivers the outbox to webhook endpoints (started with the server).
    public let webhooks: WebhookDispatcher
    /// Feeds the open event streams (`GET /v1/events/stream`; started with the server).
    let eventStreams: EventStreamHub

    init(configuration: AtriumConfiguration, store: Store, jwtKeys: JWTKeySet, plans: PlanCatalog) throws {
        self.plans = plans
        requestCounts = UsageCounter()
        self.configuration = configuration
        self.store = store
        rateLimiter = RateLimiter(clustered: store.dialect == .postgres, clock: { Clock.nowMilliseconds() })
        rateSyncer = RateLimitSyncer(limiter: rateLimiter, store: store)
        codec = JWTCodec(keys: jwtKeys, issuer: configuration.issuer, audience: configuration.audience)
        passwordHasher = PasswordHasher(iterations: configuration.passwordIterations)
        keyUsage = KeyUsageRecorder()
        authenticator = Authenticator(codec: codec, keyUsage: keyUsage)
        clientAddresses = ClientAddressResolver(trustedProxies: configuration.trustedProxies)
        let http = configuration.http
        passwordPool = WorkerPool(name: "atrium-kdf", threadCount: max(1, Int(System.coreCount) / 2), capacity: 256,
                                  tenantCapacity: min(64, http.tenantQueueLimit), fair: http.fairScheduling)
        readPool = WorkerPool(name: "atrium-read", threadCount: configuration.readWorkers, capacity: 8192,
                              tenantCapacity: http.tenantQueueLimit, fair: http.fairScheduling)
        var outbound = OutboundClientConfiguration()
        outbound.allowPrivateAddresses = configuration.webhookAllowPrivate
        outbound.timeoutSeconds = Double(configuration.webhookTimeoutSeconds)
        outbound.caFile = configuration.webhookCAFile
        let client: OutboundClient
        do {
            client = try OutboundClient(configuration: outbound)
        } catch {
            throw ConfigurationError("--webhook-ca-file: \(error.detail)")
        }
        var dispatch = DispatcherConfiguration()
        dispatch.concurrency = configuration.webhookConcurrency
        dispatch.perEndpointConcurrency = configuration.webhookEndpointConcurrency
        dispatch.retrySchedule = RetrySchedule(firstDelayMilliseconds: configuration.webhookRetryBaseMilliseconds)
        dispatch.retentionMilliseconds = configuration.eventRetentionSeconds * 1000
        webhooks = WebhookDispatcher(store: store, client: client, configuration: dispatch)
        eventStreams = EventStreamHub(store: store, heartbeatMilliseconds: configuration.eventHeartbeatMilliseconds)
    }
}
