import AtriumStore
import Glibc

/// A setting that could not be taken: start-up stops with this message and a non-zero exit.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads every setting from `--name value` / `--name=value` flags and `ATRIUM_NAME`
/// environment variables (flags win), validating each value.
public enum ConfigurationLoader {
    /// Every flag, with the field it sets. Booleans take `true`/`false`.
    /// How one flag changes the configuration.
    typealias Apply = @Sendable (inout AtriumConfiguration, String) throws(ConfigurationError) -> Void

    static let settings: [(flag: String, apply: Apply)] = [
        ("host", { c, v throws(ConfigurationError) in c.host = try nonEmpty(v, "host"); c.http.host = c.host }),
        ("port", { c, v throws(ConfigurationError) in
            c.port = try integer(v, "port", 0...65535); c.http.port = c.port
        }),
        ("data-dir", { c, v throws(ConfigurationError) in c.dataDirectory = try nonEmpty(v, "data-dir") }),
        ("database-url", { c, v throws(ConfigurationError) in c.databaseURL = try databaseURL(v) }),
        ("jwt-secret", { c, v throws(ConfigurationError) in c.jwtSecret = try secret(v, "jwt-secret") }),
        ("jwt-previous-secret", { c, v throws(ConfigurationError) in
            c.jwtPreviousSecret = try secret(v, "jwt-previous-secret")
        }),
        ("access-token-ttl", { c, v throws(ConfigurationError) in
            c.accessTokenTTLSeconds = Int64(try integer(v, "access-token-ttl", 1...86400))
        }),
        ("refresh-token-ttl", { c, v throws(ConfigurationError) in
            c.refreshTokenTTLSeconds = Int64(try integer(v, "refresh-token-ttl", 60...(365 * 86400)))
        }),
        ("invitation-ttl", { c, v throws(ConfigurationError) in
            c.invitationTTLSeconds = Int64(try integer(v, "invitation-ttl", 1...(365 * 86400)))
        }),
        ("trusted-proxies", { c, v throws(ConfigurationError) in
            var ranges: [AddressRange] = []
            for item in v.split(separator: ",") where !item.trimmingSpaces.isEmpty {
                guard let range = AddressRange(item.trimmingSpaces) else {
                    throw ConfigurationError("--trusted-proxies takes addresses or CIDR ranges separated by "
                                             + "commas, not \(item.trimmingSpaces)")
                }
                ranges.append(range)
            }
            c.trustedProxies = ranges
        }),
        ("require-workspace", { c, v throws(ConfigurationError) in
            c.requireWorkspace = try boolean(v, "require-workspace")
        }),
        ("allow-signup", { c, v throws(ConfigurationError) in c.allowSignup = try boolean(v, "allow-signup") }),
        ("webhook-allow-private", { c, v throws(ConfigurationError) in
            c.webhookAllowPrivate = try boolean(v, "webhook-allow-private")
        }),
        ("webhook-timeout", { c, v throws(ConfigurationError) in
            c.webhookTimeoutSeconds = try integer(v, "webhook-timeout", 1...300)
        }),
        ("webhook-retry-base-ms", { c, v throws(ConfigurationError) in
            c.webhookRetryBaseMilliseconds = Int64(try integer(v, "webhook-retry-base-ms", 1...3_600_000))
        }),
        ("event-retention", { c, v throws(ConfigurationError) in
            c.eventRetentionSeconds = Int64(try integer(v, "event-retention", 1...(366 * 86400)))
        }),
        ("event-heartbeat-ms", { c, v throws(ConfigurationError) in
            c.eventHeartbeatMilliseconds = try integer(v, "event-heartbeat-ms", 10...3_600_000)
        }),
        ("stream-buffer-bytes", { c, v throws(ConfigurationError) in
            c.http.streamBufferBytes = try integer(v, "stream-buffer-bytes", 4096...(64 << 20))
        }),
        ("webhook-concurrency", { c, v throws(ConfigurationError) in
            c.webhookConcurrency = try integer(v, "webhook-concurrency", 1...1024)
        }),
        ("webhook-endpoint-concurrency", { c, v throws(ConfigurationError) in
            c.webhookEndpointConcurrency = try integer(v, "webhook-endpoint-concurrency", 1...64)
        }),
        ("webhook-ca-file", { c, v throws(ConfigurationError) in
            c.webhookCAFile = try nonEmpty(v, "webhook-ca-file")
        }),
        ("max-workspaces-per-user", { c, v throws(ConfigurationError) in
            c.maxWorkspacesPerUser = try integer(v, "max-workspaces-per-user", 1...1_000_000)
        }),
        ("max-members-per-workspace", { c, v throws(ConfigurationError) in
            c.maxMembersPerWorkspace = try integer(v, "max-members-per-workspace", 1...1_000_000)
        }),
        ("invites-per-hour", { c, v throws(ConfigurationError) in
            c.invitesPerHour = try integer(v, "invites-per-hour", 1...1_000_000)
        }),
        ("requests-per-minute", { c, v throws(ConfigurationError) in
            c.requestsPerMinute = try integer(v, "requests-per-minute", 1...100_000_000)
        }),
        ("key-requests-per-minute", { c, v throws(ConfigurationError) in
            c.keyRequestsPerMinute = try integer(v, "key-requests-per-minute", 1...100_000_000)
        }),
        ("log-level", { c, v throws(ConfigurationError) in
            guard ["debug", "info", "warn", "error"].contains(v) else {
                throw ConfigurationError("--log-level must be debug, info, warn or error")
            }
            c.logLevel = v
        }),
        ("access-log", { c, v throws(ConfigurationError) in
            c.accessLog = try boolean(v, "access-log"); c.http.accessLog = c.accessLog
        }),
        ("plans-file", { c, v throws(ConfigurationError) in c.plansFile = try nonEmpty(v, "plans-file") }),
        ("password-iterations", { c, v throws(ConfigurationError) in
            c.passwordIterations = try integer(v, "password-iterations", 1000...10_000_000)
        }),
        ("login-failures-per-account", { c, v throws(ConfigurationError) in
            c.loginFailuresPerAccount = try integer(v, "login-failures-per-account", 1...1_000_000)
        }),
        ("login-failures-per-address", { c, v throws(ConfigurationError) in
            c.loginFailuresPerAddress = try integer(v, "login-failures-per-address", 1...1_000_000)
        }),
        ("synchronous", { c, v throws(ConfigurationError) in
            guard let mode = StoreSynchronous(rawValue: v.lowercased()) else {
                throw ConfigurationError("--synchronous must be full, normal or off")
            }
            c.synchronous = mode
        }),
        ("readers", { c, v throws(ConfigurationError) in c.readerCount = try integer(v, "readers", 1...256) }),
        ("postgres-writers", { c, v throws(ConfigurationError) in
            c.postgresWriters = try integer(v, "postgres-writers", 1...256)
        }),
        ("commit-batch", { c, v throws(ConfigurationError) in
            c.maxCommitBatch = try integer(v, "commit-batch", 1...10_000)
        }),
        ("event-loops", { c, v throws(ConfigurationError) in
            c.http.eventLoopCount = try integer(v, "event-loops", 1...256)
        }),
        ("loop-yield-us", { c, v throws(ConfigurationError) in
            c.http.busyYieldMicroseconds = try integer(v, "loop-yield-us", 0...1_000_000)
        }),
        ("read-workers", { c, v throws(ConfigurationError) in
            c.readWorkers = try integer(v, "read-workers", 1...256)
        }),
        ("workers", { c, v throws(ConfigurationError) in
            c.http.workerThreadCount = try integer(v, "workers", 1...1024)
        }),
        ("fair-scheduling", { c, v throws(ConfigurationError) in
            c.http.fairScheduling = try boolean(v, "fair-scheduling")
        }),
        ("tenant-queue-limit", { c, v throws(ConfigurationError) in
            c.http.tenantQueueLimit = try integer(v, "tenant-queue-limit", 1...1_000_000)
        }),
        ("queue-limit", { c, v throws(ConfigurationError) in
            c.http.workerQueueCapacity = try integer(v, "queue-limit", 1...1_000_000)
        }),
        ("max-connections", { c, v throws(ConfigurationError) in
            c.http.maxConnections = try integer(v, "max-connections", 1...10_000_000)
        }),
        ("header-timeout", { c, v throws(ConfigurationError) in
            c.http.headerTimeoutSeconds = Double(try integer(v, "header-timeout", 1...3600))
        }),
        ("body-timeout", { c, v throws(ConfigurationError) in
            c.http.bodyTimeoutSeconds = Double(try integer(v, "body-timeout", 1...3600))
        }),
        ("idle-timeout", { c, v throws(ConfigurationError) in
            c.http.idleTimeoutSeconds = Double(try integer(v, "idle-timeout", 1...86400))
        }),
        ("shutdown-grace", { c, v throws(ConfigurationError) in
            c.http.shutdownGraceSeconds = Double(try integer(v, "shutdown-grace", 0...3600))
        }),
        ("max-body-bytes", { c, v throws(ConfigurationError) in
            c.http.limits.maxBodyBytes = try integer(v, "max-body-bytes", 1024...(64 << 20))
        }),
        ("metrics", { c, v throws(ConfigurationError) in c.metricsEnabled = try boolean(v, "metrics") }),
    ]

    /// Loads the configuration; `arguments` are the flags after the subcommand. Arguments that
    /// are not flags are returned as positional values.
    public static func load(arguments: [String], environment: [String: String]) throws(ConfigurationError)
        -> (AtriumConfiguration, positional: [String])
    {
        var configuration = AtriumConfiguration()
        var explicit: Set<String> = []
        for setting in settings {
            let variable = "ATRIUM_" + setting.flag.uppercased().replacingDashes
            if let value = environment[variable] {
                try setting.apply(&configuration, value)
                explicit.insert(setting.flag)
            }
        }
        let (flags, positional) = try CommandLineFlags.split(arguments)
        for flag in flags {
            guard let setting = settings.first(where: { $0.flag == flag.name }) else {
                throw ConfigurationError("unknown flag --\(flag.name) (see docs/configuration.md)")
            }
            try setting.apply(&configuration, flag.value)
            explicit.insert(setting.flag)
        }
        configuration.applyPostgresDefaults(explicit: explicit)
        return (configuration, positional)
    }

    static func nonEmpty(_ value: String, _ name: String) throws(ConfigurationError) -> String {
        guard !value.isEmpty else { throw ConfigurationError("--\(name) must not be empty") }
        return value
    }

    static func integer(_ value: String, _ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw ConfigurationError(
                "--\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(value)'")
        }
        return number
    }

    static func boolean(_ value: String, _ name: String) throws(ConfigurationError) -> Bool {
        switch value {
        case "true": return true
        case "false": return false
        default: throw ConfigurationError("--\(name) must be true or false, got '\(value)'")
        }
    }

    /// A libpq URI for PostgreSQL; anything else is refused here, before anything starts.
    static func databaseURL(_ value: String) throws(ConfigurationError) -> String {
        guard value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") else {
            throw ConfigurationError("--database-url takes a postgres:// or postgresql:// URL (libpq's URI syntax); "
                                     + "leave it unset for SQLite in --data-dir")
        }
        return value
    }

    static func secret(_ value: String, _ name: String) throws(ConfigurationError) -> String {
        guard value.utf8.count >= 32 else { throw ConfigurationError("--\(name) must be at least 32 bytes") }
        return value
    }
}

extension String {
    fileprivate var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}

/// Splits command-line arguments into `--name value` / `--name=value` flags and positional
/// arguments, the one syntax every subcommand shares.
enum CommandLineFlags {
    static func split(_ arguments: [String]) throws(ConfigurationError)
        -> (flags: [(name: String, value: String)], positional: [String])
    {
        var flags: [(name: String, value: String)] = []
        var positional: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                positional.append(argument)
                continue
            }
            let body = argument.dropFirst(2)
            if let equals = body.firstIndex(of: "=") {
                flags.append((String(body[..<equals]), String(body[body.index(after: equals)...])))
            } else {
                guard index < arguments.count else { throw ConfigurationError("--\(body) needs a value") }
                flags.append((String(body), arguments[index]))
                index += 1
            }
        }
        return (flags, positional)
    }
}
