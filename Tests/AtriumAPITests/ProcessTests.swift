import AtriumJSON
import Foundation
import Glibc
import Testing

/// The process (server.md "Process, configuration, tooling", api.md §7): health, metrics,
/// access log, signals and configuration.
@Suite("Process")
struct ProcessTests {
    // MARK: Operations endpoints

    @Test("/healthz and /readyz answer 200 {\"status\":\"ok\"} without a credential", arguments: ["/healthz", "/readyz"])
    func healthAndReadiness(_ path: String) throws {
        let server = try TestServer()
        let response = try server.client().request("GET", path)
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(response.json.objectValue?.keys == ["status"])
        #expect(response.json["status"]?.stringValue == "ok")
    }

    private func metricLines(_ text: String, _ name: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(name) }
    }

    private func metricValue(_ line: String) -> Double? {
        line.split(separator: " ").last.flatMap { Double($0) }
    }

    @Test("/metrics is Prometheus text with requests by route template and status, latency, connections, commits")
    func metricsExposition() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        #expect(try client.request("GET", "/v1/me", headers: [account.bearer]).status == 200)
        #expect(try client.request("GET", "/v1/me").status == 401)
        let workspace = try client.request("GET", "/v1/workspaces/\(account.mainWorkspaceID)", headers: [account.bearer])
        #expect(workspace.status == 200)

        let response = try client.request("GET", "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("text/plain") == true)
        let text = response.text
        let requests = metricLines(text, "atrium_http_requests_total{")
        #expect(requests.allSatisfy { $0.contains("route=\"") && $0.contains("status=\"") })
        let me = requests.filter { $0.contains("/v1/me\"") || $0.contains("/v1/me ") }
        #expect(me.contains { $0.contains("status=\"200\"") && (metricValue($0) ?? 0) >= 1 }, "\(me)")
        #expect(me.contains { $0.contains("status=\"401\"") && (metricValue($0) ?? 0) >= 1 }, "\(me)")
        // Labels carry the template, never the concrete id.
        let workspaceLines = requests.filter { $0.contains("/v1/workspaces/") }
        #expect(!workspaceLines.isEmpty)
        #expect(!workspaceLines.contains { $0.contains("/v1/workspaces/\(account.mainWorkspaceID)\"") },
                "a concrete id in a route label: \(workspaceLines)")
        let buckets = metricLines(text, "atrium_http_request_duration_seconds_bucket")
        #expect(!buckets.isEmpty)
        #expect(buckets.contains { $0.contains("le=\"+Inf\"") && (metricValue($0) ?? 0) >= 4 })
        let open = metricLines(text, "atrium_http_open_connections")
        #expect(open.count == 1)
        #expect((open.first.flatMap(metricValue) ?? 0) >= 1, "our own connection is open")
        let commits = metricLines(text, "atrium_store_commits_total")
        #expect(commits.count == 1)
        #expect((commits.first.flatMap(metricValue) ?? 0) >= 1, "the signup committed")
        #expect(text.split(separator: "\n").contains { $0.hasPrefix("atrium_store_") && $0.contains("seconds") },
                "no store timing metric")
        #expect(text.contains("# TYPE atrium_http_requests_total counter"))
        #expect(text.contains("# TYPE atrium_http_request_duration_seconds histogram"))
    }

    @Test("/metrics tells the methods of one template apart (GET /v1/me vs PATCH /v1/me)")
    func metricsRouteIncludesMethod() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        #expect(try client.request("GET", "/v1/me", headers: [account.bearer]).status == 200)
        let text = try client.request("GET", "/metrics").text
        let me = metricLines(text, "atrium_http_requests_total{").filter { $0.contains("/v1/me") }
        #expect(me.contains { $0.contains("route=\"GET /v1/me\"") || ($0.contains("method=\"GET\"") && $0.contains("route=\"/v1/me\"")) },
                "requests_total lines for /v1/me: \(me)")
    }

    @Test("/metrics is off with --metrics false")
    func metricsDisabled() throws {
        let server = try TestServer(["--metrics", "false"])
        let response = try server.client().request("GET", "/metrics")
        #expect(response.status == 404)
        #expect(response.errorCode == "NOT_FOUND")
    }

    @Test("atrium_http_open_connections returns to its baseline after normal, closed and rejected connections")
    func openConnectionsGauge() throws {
        let server = try TestServer()
        let scraper = try WireSocket(port: server.port)
        func gauge() throws -> Double {
            try scraper.send(Wire.request("GET", "/metrics"))
            let text = try scraper.readResponse().response.text
            return metricLines(text, "atrium_http_open_connections").first.flatMap(metricValue) ?? -1
        }
        let baseline = try gauge()
        #expect(baseline >= 1)
        var sockets: [WireSocket] = []
        for _ in 0..<4 {
            let socket = try WireSocket(port: server.port)
            try socket.send(Wire.request("GET", "/healthz"))
            _ = try socket.readResponse()
            sockets.append(socket)
        }
        #expect(try gauge() >= baseline + 4)
        for socket in sockets { socket.close() }
        for _ in 0..<3 {
            let bad = try WireSocket(port: server.port)
            try bad.send("NOT HTTP AT ALL\r\n\r\n")
            _ = bad.readUntilClose(timeout: 5)
            bad.close()
            let closing = try WireSocket(port: server.port)
            try closing.send(Wire.request("GET", "/healthz", headers: [("Connection", "close")]))
            _ = closing.readUntilClose(timeout: 5)
        }
        var last = -1.0
        let settled = Wire.eventually(timeout: 6) {
            last = (try? gauge()) ?? -1
            return last == baseline
        }
        #expect(settled, "open connections \(last), baseline \(baseline)")
    }

    // MARK: Access log

    private func logEntries(_ log: String) -> [JSONValue] {
        log.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return try? JSONParser.parse(Array(line.utf8))
        }
    }

    private func entry(_ log: String, requestID: String) -> JSONValue? {
        logEntries(log).first { $0["request_id"]?.stringValue == requestID }
    }

    @Test("access log: one JSON line per request with the fields, and never a token or password")
    func accessLog() throws {
        let server = try TestServer()
        let client = try server.client()
        let password = "wire-log-password-\(UUID().uuidString)"
        let email = Wire.uniqueEmail("log")
        let signup = try client.request("POST", "/v1/auth/signup", headers: [("X-Request-ID", "log-signup")],
                                        body: Wire.signupBody(email: email, password: password))
        #expect(signup.status == 201)
        let token = try #require(signup.json["access_token"]?.stringValue)
        let refresh = try #require(signup.json["refresh_token"]?.stringValue)
        let userID = try #require(signup.json["user"]?["id"]?.int64Value)
        let workspaceID = try #require(signup.json["workspace"]?["id"]?.int64Value)
        let bearer = ("Authorization", "Bearer \(token)")
        #expect(try client.request("GET", "/v1/me", headers: [bearer, ("X-Request-ID", "log-me")]).status == 200)
        #expect(try client.request("GET", "/v1/workspaces/\(workspaceID)",
                                   headers: [bearer, ("X-Request-ID", "log-workspace")]).status == 200)
        #expect(try client.request("GET", "/nope", headers: [("X-Request-ID", "log-404")]).status == 404)
        let login = try client.request("POST", "/v1/auth/login", headers: [("X-Request-ID", "log-login")],
                                       body: #"{"email":"\#(email)","password":"\#(password)"}"#)
        #expect(login.status == 200)
        let badLogin = try client.request("POST", "/v1/auth/login", headers: [("X-Request-ID", "log-badlogin")],
                                          body: #"{"email":"\#(email)","password":"\#(password)-wrong"}"#)
        #expect(badLogin.status == 401)
        let keyResponse = try client.request("POST", "/v1/api-keys", headers: [bearer, ("X-Request-ID", "log-key")],
                                             body: #"{"name":"logged","mode":"full"}"#)
        #expect(keyResponse.status == 201)
        let secret = try #require(keyResponse.json["secret"]?.stringValue)
        #expect(try client.request("GET", "/v1/me", headers: [("X-API-Key", secret), ("X-Request-ID", "log-apikey")]).status == 200)
        let refreshed = try client.request("POST", "/v1/auth/refresh", headers: [("X-Request-ID", "log-refresh")],
                                           body: #"{"refresh_token":"\#(refresh)"}"#)
        #expect(refreshed.status == 200)

        let ids = ["log-signup", "log-me", "log-workspace", "log-404", "log-login", "log-badlogin", "log-key",
                   "log-apikey", "log-refresh"]
        #expect(Wire.eventually(timeout: 5) { ids.allSatisfy { entry(server.log, requestID: $0) != nil } },
                "missing access-log lines; log:\n\(server.log)")
        let log = server.log
        for id in ids {
            let lines = logEntries(log).filter { $0["request_id"]?.stringValue == id }
            #expect(lines.count == 1, "\(id): \(lines.count) lines")
            guard let line = lines.first else { continue }
            #expect(line["method"]?.stringValue != nil, "\(id)")
            #expect(line["status"]?.int64Value != nil, "\(id)")
            #expect(line["duration_ms"]?.doubleValue != nil, "\(id)")
            #expect(line["time"]?.stringValue != nil, "\(id)")
        }
        let me = entry(log, requestID: "log-me")
        #expect(me?["method"]?.stringValue == "GET")
        #expect(me?["route"]?.stringValue?.hasSuffix("/v1/me") == true)
        #expect(me?["status"]?.int64Value == 200)
        #expect(me?["user_id"]?.int64Value == userID)
        #expect(me?["credential"]?.stringValue == "jwt")
        let workspace = entry(log, requestID: "log-workspace")
        let route = workspace?["route"]?.stringValue ?? ""
        #expect(route.contains("/v1/workspaces/") && route.contains("{") && !route.hasSuffix("/\(workspaceID)"),
                "route must be the template: \(route)")
        #expect(workspace?["user_id"]?.int64Value == userID)
        #expect(workspace?["workspace_id"]?.int64Value == workspaceID, "the log line names the resolved workspace")
        let apiKey = entry(log, requestID: "log-apikey")
        #expect(apiKey?["credential"]?.stringValue == "api_key")
        #expect(apiKey?["user_id"]?.int64Value == userID)
        let notFound = entry(log, requestID: "log-404")
        #expect(notFound?["status"]?.int64Value == 404)
        #expect(notFound?["user_id"] == nil || notFound?["user_id"] == .null)
        #expect(entry(log, requestID: "log-signup")?["status"]?.int64Value == 201)
        #expect(entry(log, requestID: "log-badlogin")?["status"]?.int64Value == 401)

        // No secret anywhere in what the process printed.
        let newAccess = login.json["access_token"]?.stringValue ?? token
        let newRefresh = refreshed.json["refresh_token"]?.stringValue ?? refresh
        for (label, value) in [("password", password), ("access token", token), ("refresh token", refresh),
                               ("login access token", newAccess), ("rotated refresh token", newRefresh),
                               ("api key secret", secret)] {
            #expect(!log.contains(value), "the log holds the \(label)")
        }
        // Not even the signature part of the access token.
        if let signature = token.split(separator: ".").last {
            #expect(!log.contains(String(signature)))
        }
    }

    @Test("--access-log false prints no request lines")
    func accessLogDisabled() throws {
        let server = try TestServer(["--access-log", "false"])
        let client = try server.client()
        #expect(try client.request("GET", "/healthz", headers: [("X-Request-ID", "quiet-1")]).status == 200)
        #expect(try client.request("GET", "/nope", headers: [("X-Request-ID", "quiet-2")]).status == 404)
        // Give a would-be line time to arrive, then check it did not.
        _ = try client.request("GET", "/healthz")
        usleep(500_000)
        #expect(!server.log.contains("quiet-1"))
        #expect(!server.log.contains("quiet-2"))
    }

    // MARK: Signals

    @Test("SIGTERM: the in-flight signup still gets its 201, new connections are refused, exit status 0")
    func gracefulShutdown() throws {
        let server = try TestServer(["--password-iterations", "3000000"])
        let email = Wire.uniqueEmail("graceful")
        let body = Wire.signupBody(email: email)
        let inflight = try WireSocket(port: server.port, receiveTimeout: 30)
        try inflight.send(Wire.request("POST", "/v1/auth/signup", headers: [("X-Request-ID", "in-flight")], body: body))
        usleep(400_000)  // the request is read and hashing (about a second at 3,000,000 iterations)
        let pid = server.process.processIdentifier
        #expect(kill(pid, SIGTERM) == 0)
        usleep(200_000)

        // A connection attempted after SIGTERM is not served.
        if let late = try? WireSocket(port: server.port, receiveTimeout: 20) {
            late.trySend(Wire.request("GET", "/healthz"))
            let tail = late.readUntilClose(timeout: 20)
            #expect(Wire.responseCount(in: tail.bytes) == 0, "a connection made after SIGTERM was served: \(tail.text)")
        }

        let response = try inflight.readResponse()
        #expect(response.status == 201)
        #expect(response.header("X-Request-ID") == "in-flight")
        #expect(response.json["user"]?["email"]?.stringValue == email)

        #expect(Wire.eventually(timeout: 20) { !server.process.isRunning }, "the process did not exit after SIGTERM")
        if !server.process.isRunning {
            #expect(server.process.terminationReason == .exit)
            #expect(server.process.terminationStatus == 0)
        }

        // The acknowledged signup is in the store the process closed.
        let restarted = try TestServer(dataDirectory: server.dataDirectory)
        let login = try restarted.client().request("POST", "/v1/auth/login",
                                                   body: #"{"email":"\#(email)","password":"correct horse battery"}"#)
        #expect(login.status == 200)
    }

    @Test("after SIGTERM a new connection is refused at once, not left hanging until the process exits")
    func newConnectionRefusedPromptlyAfterSigterm() throws {
        let server = try TestServer(["--password-iterations", "3000000"])
        // Keep the process busy (about a second of PBKDF2) so it is still shutting down.
        let inflight = try WireSocket(port: server.port, receiveTimeout: 30)
        try inflight.send(Wire.request("POST", "/v1/auth/signup", body: Wire.signupBody(email: Wire.uniqueEmail("busy"))))
        usleep(300_000)
        #expect(kill(server.process.processIdentifier, SIGTERM) == 0)
        usleep(200_000)
        #expect(server.process.isRunning, "the process must still be finishing the in-flight request")
        let attempted = Date()
        var outcome = "connect refused"
        if let late = try? WireSocket(port: server.port, receiveTimeout: 20) {
            late.trySend(Wire.request("GET", "/healthz"))
            let tail = late.readUntilClose(timeout: 20)
            let waited = Date().timeIntervalSince(attempted)
            outcome = "connected; closed=\(tail.closed) after \(String(format: "%.2f", waited)) s, process running then: \(server.process.isRunning)"
            #expect(Wire.responseCount(in: tail.bytes) == 0)
            #expect(tail.closed && waited < 1, "a connection made after SIGTERM hung instead of being refused: \(outcome)")
        }
        _ = try? inflight.readResponse()
        #expect(Wire.eventually(timeout: 20) { !server.process.isRunning }, "\(outcome)")
    }

    @Test("SIGINT and SIGTERM on an idle server: exit status 0", arguments: [SIGINT, SIGTERM])
    func signalExitsCleanly(_ signal: Int32) throws {
        let server = try TestServer()
        let idle = try WireSocket(port: server.port)
        try idle.send(Wire.request("GET", "/healthz"))
        #expect(try idle.readResponse().status == 200)
        #expect(kill(server.process.processIdentifier, signal) == 0)
        #expect(Wire.eventually(timeout: 15) { !server.process.isRunning })
        #expect(server.process.terminationReason == .exit)
        #expect(server.process.terminationStatus == 0)
        #expect(idle.readUntilClose(timeout: 5).closed)
    }

    // MARK: First start

    @Test("no configuration on a fresh directory: creates ./data, a 0600 secret, says how to start; the secret is reused")
    func freshStartWithDefaults() throws {
        let directory = TestServer.makeTemporaryDirectory()
        func launch() throws -> (Process, PipeCollector, Int) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: TestServer.binaryPath)
            process.arguments = ["--port", "0"]   // no subcommand: serve is the default
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.environment = Wire.environment()
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = PipeCollector(pipe.fileHandleForReading)
            var port: Int?
            _ = Wire.eventually(timeout: 20) {
                if let range = output.current.range(of: "listening on http://127.0.0.1:") {
                    port = Int(output.current[range.upperBound...].prefix { $0.isNumber })
                }
                return port != nil || !process.isRunning
            }
            guard let port else {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw TestFailure("did not start: \(output.current)")
            }
            return (process, output, port)
        }
        let (first, firstOutput, firstPort) = try launch()
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let data = directory + "/data"
        #expect(FileManager.default.fileExists(atPath: data + "/atrium.db"))
        let secretPath = data + "/jwt-secret"
        let attributes = try FileManager.default.attributesOfItem(atPath: secretPath)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        #expect(mode & 0o077 == 0, "jwt-secret mode \(String(mode, radix: 8))")
        #expect(firstOutput.current.contains("/v1/auth/signup"), "the start-up text tells how to make a first account")
        let account = try HTTPTestClient(port: firstPort).signUp()
        #expect(kill(first.processIdentifier, SIGTERM) == 0)
        #expect(Wire.eventually(timeout: 15) { !first.isRunning })
        #expect(first.terminationStatus == 0)

        let (second, _, secondPort) = try launch()
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL); second.waitUntilExit() } }
        // The same generated secret verifies the token issued by the first run.
        let me = try HTTPTestClient(port: secondPort).request("GET", "/v1/me", headers: [account.bearer])
        #expect(me.status == 200)
        #expect(me.json["user"]?["id"]?.int64Value == account.userID)
    }

    @Test("atrium migrate creates and migrates the database, then exits 0; serve starts on it",
          .enabled(if: TestEngine.isSQLite, "SQLite only: checks the database file; PostgreSQL: AtriumPostgresTests"))
    func migrateSubcommand() throws {
        let directory = TestServer.makeTemporaryDirectory()
        let run = try AtriumBinary.run(["migrate", "--data-dir", directory], timeout: 20)
        #expect(run.exitedNormally && run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/atrium.db"))
        let again = try AtriumBinary.run(["migrate", "--data-dir", directory], timeout: 20)
        #expect(again.status == 0, "migrating twice must be a no-op: \(again.stderr)")
        let server = try TestServer(dataDirectory: directory)
        #expect(try server.client().request("GET", "/readyz").status == 200)
        _ = try server.client().signUp()
    }

    // MARK: Configuration

    struct BadConfiguration: CustomTestStringConvertible, Sendable {
        let arguments: [String]
        let environment: [String: String]
        /// A word the error message should name.
        let mentions: String
        var testDescription: String { (arguments + environment.map { "\($0.key)=\($0.value)" }).joined(separator: " ") }
    }

    static let badConfigurations: [BadConfiguration] = [
        BadConfiguration(arguments: ["--no-such-flag", "1"], environment: [:], mentions: "no-such-flag"),
        BadConfiguration(arguments: ["--port", "abc"], environment: [:], mentions: "port"),
        BadConfiguration(arguments: ["--port", "70000"], environment: [:], mentions: "port"),
        BadConfiguration(arguments: ["--allow-signup", "maybe"], environment: [:], mentions: "allow-signup"),
        BadConfiguration(arguments: ["--allow-signup=yes"], environment: [:], mentions: "allow-signup"),
        BadConfiguration(arguments: ["--jwt-secret", "too-short"], environment: [:], mentions: "jwt-secret"),
        BadConfiguration(arguments: ["--password-iterations", "10"], environment: [:], mentions: "password-iterations"),
        BadConfiguration(arguments: ["--idle-timeout", "-5"], environment: [:], mentions: "idle-timeout"),
        BadConfiguration(arguments: ["--max-connections", "lots"], environment: [:], mentions: "max-connections"),
        BadConfiguration(arguments: ["--log-level", "verbose"], environment: [:], mentions: "log-level"),
        BadConfiguration(arguments: ["--synchronous", "sometimes"], environment: [:], mentions: "synchronous"),
        BadConfiguration(arguments: ["--port"], environment: [:], mentions: "port"),
        BadConfiguration(arguments: [], environment: ["ATRIUM_ALLOW_SIGNUP": "maybe"], mentions: "ALLOW_SIGNUP"),
        BadConfiguration(arguments: [], environment: ["ATRIUM_READERS": "many"], mentions: "READERS"),
    ]

    @Test("a bad flag or value stops `atrium serve` with a message on stderr and a non-zero exit",
          arguments: ProcessTests.badConfigurations)
    func badConfigurationRefused(_ bad: BadConfiguration) throws {
        let directory = TestServer.makeTemporaryDirectory()
        var arguments = ["serve", "--data-dir", directory]
        if !bad.arguments.contains(where: { $0.hasPrefix("--port") }) { arguments += ["--port", "0"] }
        arguments += ["--password-iterations", "1000"]
        if bad.arguments.first == "--password-iterations" { arguments.removeLast(2) }
        arguments += bad.arguments
        let run = try AtriumBinary.run(arguments, environment: bad.environment, timeout: 8)
        #expect(!run.timedOut, "the server started anyway: \(run.stdout)")
        #expect(run.exitedNormally)
        #expect(run.status != 0)
        #expect(!run.stderr.isEmpty)
        let lowered = run.stderr.lowercased()
        #expect(lowered.contains(bad.mentions.lowercased()) || lowered.contains(bad.mentions.lowercased().replacingOccurrences(of: "_", with: "-")),
                "the message does not name \(bad.mentions): \(run.stderr)")
        #expect(!run.stdout.contains("listening on"))
    }

    @Test("ATRIUM_ALLOW_SIGNUP=false turns signup off: 403 SIGNUP_DISABLED, nothing written")
    func environmentDisablesSignup() throws {
        let server = try EnvServer([], environment: ["ATRIUM_ALLOW_SIGNUP": "false"])
        let client = try server.client()
        let email = Wire.uniqueEmail("env")
        let response = try client.request("POST", "/v1/auth/signup", body: Wire.signupBody(email: email))
        #expect(response.status == 403)
        #expect(response.errorCode == "SIGNUP_DISABLED")
        let login = try client.request("POST", "/v1/auth/login",
                                       body: #"{"email":"\#(email)","password":"correct horse battery"}"#)
        #expect(login.status == 401)
        #expect(login.errorCode == "INVALID_CREDENTIALS")
    }

    @Test("flags win over environment variables")
    func flagsWinOverEnvironment() throws {
        let server = try EnvServer(["--allow-signup", "true"], environment: ["ATRIUM_ALLOW_SIGNUP": "false"])
        let response = try server.client().request("POST", "/v1/auth/signup", body: Wire.signupBody(email: Wire.uniqueEmail("flag")))
        #expect(response.status == 201)
    }

    @Test("--name=value form: --allow-signup=false turns signup off")
    func flagWithEquals() throws {
        let server = try TestServer(["--allow-signup=false"])
        let response = try server.client().request("POST", "/v1/auth/signup", body: Wire.signupBody(email: Wire.uniqueEmail("eq")))
        #expect(response.status == 403)
        #expect(response.errorCode == "SIGNUP_DISABLED")
    }

    @Test("ATRIUM_MAX_CONNECTIONS from the environment is applied")
    func environmentNumericSetting() throws {
        let server = try EnvServer([], environment: ["ATRIUM_MAX_CONNECTIONS": "1"])
        let first = try WireSocket(port: server.port)
        try first.send(Wire.request("GET", "/healthz"))
        #expect(try first.readResponse().status == 200)
        let second = try WireSocket(port: server.port)
        if !second.waitReadable(timeout: 1) { second.trySend(Wire.request("GET", "/healthz")) }
        let refused = try second.readResponse()
        #expect(refused.status == 503)
        #expect(refused.errorCode == "UNAVAILABLE")
    }
}
