import AtriumAuth
import AtriumHTTP
import AtriumStore
import AtriumSystem
import Glibc
import Synchronization

/// The whole service wired together: store, credentials, endpoints, router and HTTP server.
/// `atrium serve` creates one and runs it until a signal asks it to stop.
public final class AtriumApplication: Sendable {
    public let configuration: AtriumConfiguration
    public let services: Services
    public let endpoints: [Endpoint]
    public let router: Router
    private let server = Mutex<HTTPServer?>(nil)
    private let flusherStop = Atomic<Bool>(false)

    /// Opens the data directory and store (migrating it) and builds the routes.
    public init(configuration: AtriumConfiguration) throws {
        self.configuration = configuration
        let secret: String
        if configuration.databaseURL != nil {
            // Instances on one database must agree on the key, so none is generated.
            guard let given = configuration.jwtSecret else {
                throw ConfigurationError("--jwt-secret (or ATRIUM_JWT_SECRET) is required with --database-url: "
                                         + "every instance on the database must sign with the same secret")
            }
            secret = given
        } else {
            try Store.checkDataDirectory(configuration.dataDirectory)
            secret = try configuration.jwtSecret
                ?? SecretFile.loadOrCreate(path: configuration.dataDirectory + "/jwt-secret")
        }
        let keys = JWTKeySet(current: Array(secret.utf8),
                             previous: configuration.jwtPreviousSecret.map { Array($0.utf8) })
        var storage = StoreConfiguration(dataDirectory: configuration.dataDirectory)
        storage.synchronous = configuration.synchronous
        storage.readerCount = configuration.readerCount
        storage.postgresWriterCount = configuration.postgresWriters
        storage.maxBatchSize = configuration.maxCommitBatch
        storage.exclusive = true
        storage.databaseURL = configuration.databaseURL
        let store = try Store(configuration: storage, log: { OperationsLog.error($0) })
        let plans = try configuration.plansFile.map { path throws(ConfigurationError) in
            try PlanCatalog.load(path: path)
        }
            ?? PlanCatalog.fromFlags(configuration)
        let services = try Services(configuration: configuration, store: store, jwtKeys: keys, plans: plans)
        self.services = services
        let endpoints = Self.allEndpoints(services: services, metricsEnabled: configuration.metricsEnabled)
        self.endpoints = endpoints
        var builder = RouterBuilder()
        for endpoint in endpoints {
            let placement: HandlerPlacement
            switch endpoint.admission {
            case .open(.eventLoop, _): placement = .eventLoop
            case .open(.passwordHashing, _): placement = .dedicatedPool(services.passwordPool)
            case .open(.store, _): placement = .workerPool
            default: placement = endpoint.isRead ? .dedicatedPool(services.readPool) : .workerPool
            }
            builder.add(Route(method: endpoint.method, template: endpoint.path, placement: placement,
                              documentation: endpoint.documentation,
                              handler: EndpointResponder(endpoint: endpoint, services: services)))
        }
        router = builder.build()
    }

    static func allEndpoints(services: Services, metricsEnabled: Bool) -> [Endpoint] {
        let metricsText: @Sendable () -> String = { [weak services] in
            guard let services else { return "" }
            return MetricsText.render(services: services)
        }
        let endpoints = OperationsEndpoints.all(metrics: metricsText, metricsEnabled: metricsEnabled)
            + AuthEndpoints.all() + MeEndpoints.all() + APIKeyEndpoints.all() + WorkspaceEndpoints.all()
            + WorkspaceKeyEndpoints.all() + RecordEndpoints.all()
            + MemberEndpoints.all() + InvitationEndpoints.all() + AccountEndpoints.all() + WebhookEndpoints.all()
            + EventEndpoints.all()
        // The document describes every endpoint, itself included; built once, served as bytes.
        let document = OpenAPIDocument.build(endpoints + [OperationsEndpoints.openAPI(document: [])])
        return endpoints + [OperationsEndpoints.openAPI(document: document)]
    }

    /// Binds and starts serving; returns the bound port.
    public func start() throws -> Int {
        let httpServer = try HTTPServer(
            configuration: configuration.http, router: router,
            renderError: { code, message, requestID in
                ErrorEnvelope.body(code: code, message: message, requestID: requestID)
            })
        MetricsText.httpMetrics.withLock { $0 = httpServer.metrics }
        server.withLock { $0 = httpServer }
        services.webhooks.start()
        services.eventStreams.start()
        if services.rateLimiter.clustered { services.rateSyncer.start() }
        let services = self.services
        let stop = self
        OSThread.spawn(name: "atrium-keyuse") {
            var slept = 0
            while !stop.flusherStop.load(ordering: .acquiring) {
                usleep(100_000)
                slept += 1
                if slept % 50 == 0 {
                    services.keyUsage.flush(to: services.store)
                    services.requestCounts.flush(to: services.store, now: Clock.nowMilliseconds())
                }
                if slept >= 36_000 {
                    slept = 0
                    let cutoff = Clock.nowMilliseconds() - RecordEndpoints.idempotencyWindow
                    _ = try? services.store.write { writer in try writer.purgeIdempotencyKeys(before: cutoff) }
                }
            }
        }
        return httpServer.port
    }

    /// Graceful stop: finish in-flight requests, flush key usage, close the store.
    public func stop() {
        let running = server.withLock { current -> HTTPServer? in
            let taken = current
            current = nil
            return taken
        }
        running?.shutdown()
        services.eventStreams.stop()
        services.webhooks.stop()
        services.rateSyncer.stop()
        flusherStop.store(true, ordering: .releasing)
        services.keyUsage.flush(to: services.store)
        services.requestCounts.flush(to: services.store, now: Clock.nowMilliseconds())
        services.passwordPool.shutdown()
        services.readPool.shutdown()
        services.store.close()
    }
}

/// `/metrics`: the HTTP server's counters plus the store's.
enum MetricsText {
    static let httpMetrics = Mutex<HTTPMetrics?>(nil)

    static func render(services: Services) -> String {
        var out = httpMetrics.withLock { $0?.render() } ?? ""
        let stats = services.store.statistics
        out += "# HELP atrium_event_streams_open Open GET /v1/events/stream connections.\n"
        out += "# TYPE atrium_event_streams_open gauge\n"
        out += "atrium_event_streams_open \(services.eventStreams.openStreams)\n"
        out += "# HELP atrium_store_commits_total Write transactions committed (group commits).\n"
        out += "# TYPE atrium_store_commits_total counter\n"
        out += "atrium_store_commits_total \(stats.commits)\n"
        out += "# HELP atrium_store_writes_total Write jobs run inside commits.\n"
        out += "# TYPE atrium_store_writes_total counter\n"
        out += "atrium_store_writes_total \(stats.writes)\n"
        out += "# HELP atrium_store_failed_writes_total Write jobs that failed.\n"
        out += "# TYPE atrium_store_failed_writes_total counter\n"
        out += "atrium_store_failed_writes_total \(stats.failedWrites)\n"
        out += "# HELP atrium_store_commit_seconds_total Time spent committing (fsync included).\n"
        out += "# TYPE atrium_store_commit_seconds_total counter\n"
        out += "atrium_store_commit_seconds_total \(Double(stats.commitNanoseconds) / 1e9)\n"
        out += "# HELP atrium_store_reads_total Read scopes run.\n"
        out += "# TYPE atrium_store_reads_total counter\n"
        out += "atrium_store_reads_total \(stats.reads)\n"
        out += "# HELP atrium_store_largest_batch Largest group commit so far.\n"
        out += "# TYPE atrium_store_largest_batch gauge\n"
        out += "atrium_store_largest_batch \(stats.largestBatch)\n"
        out += "# HELP atrium_store_storage_full_total Writes refused because the disk was full.\n"
        out += "# TYPE atrium_store_storage_full_total counter\n"
        out += "atrium_store_storage_full_total \(stats.storageFullWrites)\n"
        out += services.webhooks.metrics.render()
        return out
    }
}
