// swift-tools-version:6.0
// Atrium: a multi-tenant workspace service. No Swift package dependencies by design;
// C libraries come in through system library targets.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Atrium",
    // The server is Linux-only (epoll); the platforms are for the AtriumClient product.
    platforms: [.macOS(.v13), .iOS(.v16), .tvOS(.v16), .watchOS(.v9)],
    products: [
        .executable(name: "atrium", targets: ["Atrium"]),
        .executable(name: "AtriumParserFuzz", targets: ["AtriumParserFuzz"]),
        // The Swift SDK: Foundation only (FoundationNetworking on Linux), no OpenSSL.
        .library(name: "AtriumClient", targets: ["AtriumClient"]),
    ],
    targets: [
        // C libraries and shims.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CAtriumSystem"),
        // Locks, condition variables, threads, log lines and the syscall helper, written once.
        .target(name: "AtriumSystem", dependencies: ["CAtriumSystem"], swiftSettings: strict),

        // Layers, bottom to top. Each depends only on what is below it.
        .target(name: "AtriumJSON", swiftSettings: strict),
        // Plain value enums (roles, key modes, invitation states, plan features) that the
        // store decodes once and every layer above it shares.
        .target(name: "AtriumModel", swiftSettings: strict),
        .target(name: "AtriumCrypto", dependencies: ["COpenSSL"], swiftSettings: strict),
        .target(name: "AtriumHTTP", dependencies: ["AtriumSystem", "CAtriumSystem"], swiftSettings: strict),
        .target(name: "AtriumSQLite", dependencies: ["CSQLite", "AtriumSystem"], swiftSettings: strict),
        // The PostgreSQL engine's bottom layer: connections, statements, the pools and the migrator.
        .target(name: "AtriumPostgres", dependencies: ["CLibPQ", "AtriumSystem"], swiftSettings: strict),
        .target(name: "AtriumStore",
                dependencies: ["AtriumSQLite", "AtriumPostgres", "AtriumJSON", "AtriumModel", "AtriumCrypto"],
                swiftSettings: strict),
        .target(name: "AtriumAuth", dependencies: ["AtriumCrypto", "AtriumJSON", "AtriumModel"], swiftSettings: strict),
        .target(
            name: "AtriumAPI",
            dependencies: ["AtriumHTTP", "AtriumStore", "AtriumAuth", "AtriumJSON", "AtriumCrypto", "AtriumWebhooks",
                           "AtriumOutbound", "AtriumSystem"],
            swiftSettings: strict
        ),
        // Outbound HTTP(S) for webhook delivery, with the SSRF guard.
        .target(name: "AtriumOutbound", dependencies: ["COpenSSL", "CAtriumSystem"], swiftSettings: strict),
        // Webhook signing, payloads, retries and the delivery dispatcher over the outbox.
        .target(name: "AtriumWebhooks",
                dependencies: ["AtriumStore", "AtriumOutbound", "AtriumCrypto", "AtriumJSON", "AtriumSystem",
                               "CAtriumSystem"],
                swiftSettings: strict),
        .executableTarget(name: "Atrium", dependencies: ["AtriumAPI"], swiftSettings: strict),
        // Client SDK: a hand-written runtime and, in Generated/, what scripts/gen_swift_client.py
        // writes from GET /openapi.json. Depends on no other target.
        .target(name: "AtriumClient", swiftSettings: strict),
        .executableTarget(name: "AtriumParserFuzz", dependencies: ["AtriumHTTP"], swiftSettings: strict),

        // Tests, one target per layer.
        .testTarget(name: "AtriumJSONTests", dependencies: ["AtriumJSON"]),
        .testTarget(name: "AtriumCryptoTests", dependencies: ["AtriumCrypto"]),
        .testTarget(name: "AtriumHTTPTests", dependencies: ["AtriumHTTP"]),
        .testTarget(name: "AtriumSQLiteTests", dependencies: ["AtriumSQLite"]),
        // Needs ATRIUM_TEST_DATABASE_URL for its database tests: run it through scripts/with-postgres.sh.
        .testTarget(name: "AtriumPostgresTests", dependencies: ["AtriumPostgres", "AtriumSQLite", "AtriumStore"]),
        .testTarget(name: "AtriumStoreTests", dependencies: ["AtriumStore", "AtriumSQLite", "AtriumPostgres"]),
        .testTarget(name: "AtriumAuthTests", dependencies: ["AtriumAuth", "AtriumJSON", "AtriumCrypto"]),
        // Sockets, TLS and a throw-away PKI for tests that play a webhook receiver.
        .target(name: "AtriumTestSupport", dependencies: ["COpenSSL"], path: "Tests/AtriumTestSupport",
                swiftSettings: strict),
        .testTarget(name: "AtriumOutboundTests", dependencies: ["AtriumOutbound", "COpenSSL", "AtriumTestSupport"]),
        .testTarget(name: "AtriumWebhooksTests", dependencies: ["AtriumWebhooks", "AtriumStore", "AtriumCrypto", "AtriumJSON"]),
        .testTarget(name: "AtriumAPIUnitTests", dependencies: ["AtriumAPI", "AtriumHTTP", "AtriumJSON"]),
        .testTarget(name: "AtriumClientTests", dependencies: ["AtriumClient", "AtriumTestSupport"]),
        .testTarget(name: "AtriumAPITests",
                    dependencies: ["AtriumJSON", "AtriumCrypto", "AtriumAuth", "AtriumTestSupport", "COpenSSL",
                                   "AtriumStore", "AtriumSQLite", "AtriumPostgres"]),
    ]
)
