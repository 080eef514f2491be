import AtriumHTTP
import AtriumStore

/// Every setting of the server (server.md "Process, configuration, tooling"), with its
/// default. Loaded from flags and `ATRIUM_*` variables by `ConfigurationLoader`.
public struct AtriumConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./data"
    /// A `postgres://` or `postgresql://` URL: run on PostgreSQL instead of SQLite in
    /// `dataDirectory` (server.md, "Growing past one machine"). Requires `jwtSecret`.
    public var databaseURL: String?
    /// The HMAC key as given (at least 32 bytes); nil = generated on first start and kept in
    /// `<data-dir>/jwt-secret` with mode 0600.
    public var jwtSecret: String?
    public var jwtPreviousSecret: String?
    public var accessTokenTTLSeconds: Int64 = 900
    public var refreshTokenTTLSeconds: Int64 = 30 * 86400
    /// How long an invitation stays pending (api.md §5: 7 days).
    public var invitationTTLSeconds: Int64 = 7 * 86400
    public var requireWorkspace = false
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxies`); empty = the TCP
    /// peer is the client.
    public var trustedProxies: [AddressRange] = []
    public var allowSignup = true
    public var webhookAllowPrivate = false
    /// One webhook attempt, connect to last byte.
    public var webhookTimeoutSeconds = 15
    /// The first retry delay; the later ones keep their ratio to it (docs/webhooks.md).
    public var webhookRetryBaseMilliseconds: Int64 = 5_000
    /// Events older than this are purged (once no webhook delivery still needs them).
    public var eventRetentionSeconds: Int64 = 7 * 86400
    /// How often an open event stream gets a heartbeat comment and its caller is re-validated
    /// (`--event-heartbeat-ms`, hidden: for tests).
    public var eventHeartbeatMilliseconds = 15_000
    public var webhookConcurrency = 16
    public var webhookEndpointConcurrency = 4
    /// Extra CA certificates (PEM) trusted for HTTPS receivers.
    public var webhookCAFile: String?
    public var maxWorkspacesPerUser: Int?
    public var maxMembersPerWorkspace: Int?
    public var invitesPerHour: Int?
    /// `requests_per_minute` of the default plan when there is no plans file.
    public var requestsPerMinute: Int?
    /// `key_requests_per_minute` of the default plan when there is no plans file.
    public var keyRequestsPerMinute: Int?
    public var logLevel = "info"
    public var accessLog = true
    public var plansFile: String?
    public var issuer = "atrium"
    public var audience = "atrium-api"
    /// PBKDF2 iterations for new password hashes (OWASP 2023: 600,000 for PBKDF2-HMAC-SHA256).
    public var passwordIterations = 600_000
    /// Login throttles: failures per account and per client address within the window.
    public var loginFailuresPerAccount = 10
    public var loginFailuresPerAddress = 50
    public var loginWindowSeconds: Int64 = 900
    public var synchronous: StoreSynchronous = .full
    public var readerCount = 8
    /// Threads for read-only endpoints (default: one per core; on PostgreSQL see
    /// `applyPostgresDefaults`).
    public var readWorkers = max(1, Int(System.coreCount))
    /// PostgreSQL only: writer connections, each running one write transaction at a time.
    public var postgresWriters = 8
    /// 1 turns group commit off (one transaction per write), for benchmarks only.
    public var maxCommitBatch = 256
    public var metricsEnabled = true
    public var http = HTTPServerConfiguration()

    public init() {}

    /// Read workers per core on PostgreSQL. A read there blocks its thread for each statement's
    /// round trip to the server, so with one worker per core the cores sit idle while the
    /// server works; a few per core keep them busy (docs/benchmarks.md, 2026-12-08).
    public static let postgresReadWorkersPerCore = 4

    /// With `--database-url`, the defaults that fit PostgreSQL for the settings not given
    /// (`explicit` holds the flag names given as flags or variables): `--read-workers`
    /// `postgresReadWorkersPerCore` × cores, and `--readers` at least that, so every read
    /// worker can hold a connection. SQLite keeps its defaults.
    public mutating func applyPostgresDefaults(explicit: Set<String>) {
        guard databaseURL != nil else { return }
        if !explicit.contains("read-workers") {
            readWorkers = min(256, Self.postgresReadWorkersPerCore * max(1, Int(System.coreCount)))
        }
        if !explicit.contains("readers") {
            readerCount = max(readerCount, readWorkers)
        }
    }
}
