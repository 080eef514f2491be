@testable import AtriumClient
import AtriumTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The SDK against a real server: every rule of the contract it implements.
@Suite struct LiveTests {
    // MARK: Idempotent creates

    @Test func aCreateWhoseAnswerIsLostIsRetriedWithTheSameKeyAndMakesOneRecord() async throws {
        let server = try LiveServer()
        let lost = Locked(false)
        let transport = RecordingTransport { request in
            // Lose the answer of the first create only.
            guard request.httpMethod == "POST", request.url?.path.hasSuffix("/records") == true else { return false }
            return lost.withLock { done in defer { done = true }; return !done }
        }
        let (client, _) = try await server.signUp("idem", transport: transport)
        let record = try await client.records.create(in: "orders", data: ["total": 42])
        let creates = transport.requests(to: "/v1/collections/orders/records")
        #expect(creates.count == 2)
        let keys = Set(creates.compactMap { $0.header("Idempotency-Key") })
        #expect(keys.count == 1 && keys.first?.hasPrefix("atrium-swift-") == true, "\(keys)")
        #expect(transport.exchanges.last?.answer?.headers["idempotent-replayed"] == "true")
        let all = try await client.records.list("orders").all()
        #expect(all.map(\.id) == [record.id])

        // The same key with another body: 409, not retried.
        let before = transport.exchanges.count
        await #expect {
            try await client.records.create(in: "orders", data: ["total": 43],
                                            options: RequestOptions(idempotencyKey: keys.first))
        } throws: { ($0 as? AtriumError)?.code == .idempotencyConflict && ($0 as? AtriumError)?.status == 409 }
        #expect(transport.exchanges.count == before + 1)
    }

    @Test func everyCreateGetsAnIdempotencyKey() async throws {
        let server = try LiveServer(["--webhook-allow-private", "true"])
        let transport = RecordingTransport()
        let (client, signup) = try await server.signUp("keys", transport: transport)
        let workspace = try await client.workspaces.createWorkspace(WorkspaceCreate(name: "second"))
        _ = try await client.apiKeys.createAPIKey(APIKeyCreate(name: "k", mode: "full"))
        _ = try await client.apiKeys.createWorkspaceKey(workspace: workspace.id, WorkspaceKeyCreate(name: "wk"))
        _ = try await client.webhooks.createWebhook(WebhookCreate(url: "http://127.0.0.1:9/h", events: ["*"]))
        _ = try await client.invitations.inviteMember(workspace: signup.workspace.id,
                                                      InvitationCreate(email: "x@example.com", role: "viewer"))
        let posts = transport.exchanges.map(\.request)
            .filter { $0.httpMethod == "POST" && $0.url?.path.hasPrefix("/v1/auth/") == false }
        #expect(posts.count == 5)
        #expect(posts.allSatisfy { $0.header("Idempotency-Key")?.hasPrefix("atrium-swift-") == true })
    }

    // MARK: Sessions

    @Test func twentyCallsAroundAnExpiryShareOneRefresh() async throws {
        let server = try LiveServer(["--access-token-ttl", "3"])
        let changes = Locked(0)
        let (client, _) = try await server.signUp("refresh") { _ in changes.withLock { $0 += 1 } }
        let store = try #require(client.session)
        _ = try await client.me.getMe()
        let before = await store.refreshCount  // 0, or 1 on a machine slow enough to near the expiry already
        try await Task.sleep(for: .milliseconds(3300))  // the access token has expired
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await client.me.getMe() } }
            try await group.waitForAll()
        }
        #expect(await store.refreshCount - before == 1)
        #expect(changes.withLock { $0 } == before + 1)
    }

    /// The server's 60 s leeway keeps a live server from refusing a token this young, so the
    /// reactive path (401 TOKEN_EXPIRED the client did not see coming) is played by a fake.
    @Test func twentyCallsRefusedAsExpiredShareOneRefreshAndAreReplayed() async throws {
        let refreshes = Locked(0)
        let transport = ClosureTransport { request in
            if request.url?.path == "/v1/auth/refresh" {
                refreshes.withLock { $0 += 1 }
                try await Task.sleep(for: .milliseconds(50))
                return ScriptedTransport.json(200, #"{"access_token":"new","refresh_token":"r2","token_type":"Bearer","expires_in":900}"#)
            }
            if request.header("Authorization") == "Bearer old" {
                return ScriptedTransport.json(401, #"{"success":false,"error":{"code":"TOKEN_EXPIRED","message":"m","request_id":"x"}}"#)
            }
            return ScriptedTransport.json(200, #"{"records":1,"members":1,"api_keys":0,"webhooks":0,"requests_30d":0,"storage_bytes":0}"#)
        }
        let store = SessionStore(SessionTokens(accessToken: "old", refreshToken: "r1", expiresAt: Date().addingTimeInterval(3600)))
        let client = AtriumClient(AtriumConfiguration(baseURL: URL(string: "http://atrium.invalid")!,
                                                      credential: .session(store), transport: transport))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await client.billing.getUsage(workspace: 1) } }
            try await group.waitForAll()
        }
        #expect(refreshes.withLock { $0 } == 1)
        #expect(await store.refreshCount == 1)
        #expect(await store.tokens?.accessToken == "new")
        #expect(transport.requests.filter { $0.header("Authorization") == "Bearer new" }.count == 20)
    }

    @Test func aRefreshWhoseAnswerIsLostIsNotRetriedAndEndsTheSession() async throws {
        let server = try LiveServer(["--access-token-ttl", "1"])
        let transport = RecordingTransport { $0.url?.path == "/v1/auth/refresh" }
        let (client, _) = try await server.signUp("lost", transport: transport)
        try await Task.sleep(for: .milliseconds(1300))
        await #expect(throws: AtriumError.self) { try await client.me.getMe() }
        #expect(transport.requests(to: "/v1/auth/refresh").count == 1)
        #expect(await client.session?.tokens == nil)
        await #expect { try await client.me.getMe() } throws: { ($0 as? AtriumError)?.code == .invalidToken }
        #expect(transport.requests(to: "/v1/auth/refresh").count == 1)
    }

    // MARK: Workspaces

    @Test func theWorkspaceHeaderGoesOnlyWhereTheContractReadsIt() async throws {
        let server = try LiveServer()
        let transport = RecordingTransport()
        let (owner, signup) = try await server.signUp("ws", transport: transport)
        let main = signup.workspace.id
        let second = try await owner.workspaces.createWorkspace(WorkspaceCreate(name: "second")).id
        let client = owner.inWorkspace(second)

        // The default on a selected-scope call.
        let inSecond = try await client.records.create(in: "notes", data: ["n": 1])
        #expect(inSecond.workspaceId == second)
        #expect(transport.exchanges.last?.request.header("X-Workspace-ID") == String(second))
        // A per-call override, and explicit main (no header, whatever the default).
        let inMain = try await client.records.create(in: "notes", data: ["n": 2], options: RequestOptions(workspace: .main))
        #expect(inMain.workspaceId == main)
        #expect(transport.exchanges.last?.request.header("X-Workspace-ID") == nil)
        let overridden = try await owner.records.create(in: "notes", data: ["n": 3], options: RequestOptions(workspace: .id(second)))
        #expect(overridden.workspaceId == second)
        // A row call: the default is not sent (it would make another workspace's row a 404)…
        let row = try await client.records.get(inMain.id)
        #expect(row.id == inMain.id)
        #expect(transport.exchanges.last?.request.header("X-Workspace-ID") == nil)
        // …an explicit workspace is, and the contract's 404 follows.
        await #expect { try await client.records.get(inMain.id, options: RequestOptions(workspace: .id(second))) }
            throws: { ($0 as? AtriumError)?.status == 404 }
        // Fan-out: never the header; each row keeps its workspace.
        let all = try await client.records.list("notes", workspaces: .all).all()
        #expect(transport.exchanges.last?.request.header("X-Workspace-ID") == nil)
        #expect(Set(all.map(\.workspaceId)) == [main, second])
        #expect(all.map(\.id) == all.map(\.id).sorted(by: >))
        // A fan-out with an explicit workspace is refused before sending.
        let count = transport.exchanges.count
        await #expect { try await client.records.list("notes", workspaces: .all, options: RequestOptions(workspace: .id(main))).all() }
            throws: { ($0 as? AtriumError)?.code.rawValue == "CLIENT_USAGE" }
        #expect(transport.exchanges.count == count)
        // Without fan-out, a list uses the default.
        let secondOnly = try await client.records.list("notes").all()
        #expect(Set(secondOnly.map(\.workspaceId)) == [second])
        // Calls with the workspace in the path never send it.
        _ = try await client.members.listMembers(workspace: main)
        #expect(transport.exchanges.last?.request.header("X-Workspace-ID") == nil)
    }

    @Test func anOmittedMemberIsLeftAndAnExplicitNullClearsIt() async throws {
        let server = try LiveServer()
        let (client, _) = try await server.signUp("null")
        let workspace = try await client.workspaces.createWorkspace(WorkspaceCreate(name: "c", color: .value("#112233")))
        #expect(workspace.color == "#112233")
        let renamed = try await client.workspaces.updateWorkspace(workspace: workspace.id, WorkspaceUpdate(name: "d"))
        #expect(renamed.color == "#112233" && renamed.name == "d")
        let cleared = try await client.workspaces.updateWorkspace(workspace: workspace.id, WorkspaceUpdate(color: .null))
        #expect(cleared.color == nil && cleared.name == "d")
    }

    // MARK: Errors

    @Test func errorsCarryCodeStatusDetailsRequestIDAndRetryAfter() async throws {
        let server = try LiveServer(["--invites-per-hour", "1"])
        let transport = RecordingTransport()
        let (client, signup) = try await server.signUp("err", transport: transport)
        func failure(_ body: () async throws -> Void) async -> AtriumError? {
            do { try await body(); return nil } catch { return error as? AtriumError }
        }
        let validation = await failure { _ = try await client.workspaces.createWorkspace(WorkspaceCreate(name: "")) }
        #expect(validation?.status == 400 && validation?.code == .validationFailed)
        #expect(validation?.details.first?.field == "name")
        #expect(validation?.requestID != nil && validation?.requestID == transport.exchanges.last?.answer?.headers["x-request-id"])
        let notFound = await failure { _ = try await client.records.get(999_999) }
        #expect(notFound?.code == .notFound && notFound?.status == 404)
        let cross = await failure { _ = try await client.workspaces.getWorkspace(workspace: 999_999) }
        #expect(cross?.code == .crossTenantWorkspace && cross?.status == 403)
        let record = try await client.records.create(in: "a", data: ["v": 1])
        _ = try await client.records.update(record.id, merge: ["v": 2])
        let stale = await failure { _ = try await client.records.update(record.id, merge: ["v": 3], ifMatch: record.etag) }
        #expect(stale?.code == .preconditionFailed && stale?.status == 412)
        _ = try await client.invitations.inviteMember(workspace: signup.workspace.id, InvitationCreate(email: "a@example.com", role: "viewer"))
        let limited = await failure {
            _ = try await client.invitations.inviteMember(workspace: signup.workspace.id, InvitationCreate(email: "b@example.com", role: "viewer"))
        }
        #expect(limited?.code == .rateLimited && limited?.status == 429)
        #expect((limited?.retryAfter ?? .zero) > .zero)
        #expect(limited?.attempts == 1, "a Retry-After beyond the cap is not waited for")
        let login = await failure { _ = try await AtriumClient.login(baseURL: server.baseURL, email: "nobody@example.com", password: "wrong password") }
        #expect(login?.code == .invalidCredentials && login?.status == 401)
        let key = try await client.apiKeys.createAPIKey(APIKeyCreate(name: "k", mode: "full"))
        let keyClient = AtriumClient(baseURL: server.baseURL, apiKey: key.secret)
        let sessionOnly = await failure { _ = try await keyClient.apiKeys.listAPIKeys() }
        #expect(sessionOnly?.code == .sessionRequired)
        let me = try await keyClient.me.getMe()
        #expect(me.credential.type == "api_key")
    }

    @Test func everyKnownCodeAndAnUnknownOneDecode() {
        for code in ErrorCode.known + [ErrorCode(rawValue: "SOMETHING_NEW")] {
            let body = #"{"success":false,"error":{"code":"\#(code.rawValue)","message":"m","request_id":"r-1","details":[{"field":"f","message":"x"}]}}"#
            let error = AtriumError.decode(status: 418, headers: ["x-request-id": "r-1", "retry-after": "7"], body: Data(body.utf8))
            #expect(error.code == code && error.status == 418 && error.requestID == "r-1")
            #expect(error.details == [FieldError(field: "f", message: "x")] && error.retryAfter == .seconds(7))
        }
        // The contract's table (api.md §1), all of it.
        let contract = """
            INVALID_JSON VALIDATION_FAILED INVALID_PARAMETER INVALID_WORKSPACE_HEADER INVALID_WORKSPACE_ID
            WORKSPACE_MISMATCH WORKSPACE_REQUIRED INVALID_ROLE_TRANSITION BAD_REQUEST UNAUTHENTICATED INVALID_TOKEN
            TOKEN_EXPIRED INVALID_CREDENTIALS CROSS_TENANT_WORKSPACE NO_MAIN_WORKSPACE PERMISSION_DENIED
            SESSION_REQUIRED SIGNUP_DISABLED LIMIT_REACHED FEATURE_UNAVAILABLE NOT_FOUND METHOD_NOT_ALLOWED
            REQUEST_TIMEOUT PAYLOAD_TOO_LARGE URI_TOO_LONG HEADERS_TOO_LARGE EMAIL_TAKEN ALREADY_MEMBER
            INVITATION_PENDING INVITATION_NOT_PENDING MAIN_WORKSPACE IDEMPOTENCY_CONFLICT CURSOR_EXPIRED
            PRECONDITION_FAILED UNSUPPORTED_MEDIA_TYPE RATE_LIMITED INTERNAL NOT_IMPLEMENTED UNAVAILABLE
            """.split(whereSeparator: \.isWhitespace).map { ErrorCode(rawValue: String($0)) }
        #expect(Set(ErrorCode.known) == Set(contract))
        #expect(!ErrorCode(rawValue: "SOMETHING_NEW").isKnown && ErrorCode.tokenExpired.isKnown)
    }

    // MARK: Pagination and concurrency

    @Test func twoHundredFiftyRecordsInPagesOfAHundred() async throws {
        let server = try LiveServer()
        let transport = RecordingTransport()
        let (client, _) = try await server.signUp("pages", transport: transport)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<250 { group.addTask { try await client.records.create(in: "items", data: ["n": .number(Double(n))]) } }
            try await group.waitForAll()
        }
        let before = transport.exchanges.count
        var pages: [Page<Record>] = []
        for try await page in client.records.list("items", pageSize: 100).pages { pages.append(page) }
        #expect(pages.map(\.data.count) == [100, 100, 50])
        #expect(transport.exchanges.count - before == 3)
        #expect(pages.allSatisfy { $0.requestID != nil })
        let ids = pages.flatMap(\.data).map(\.id)
        #expect(Set(ids).count == 250 && ids == ids.sorted(by: >))
        // Items, stopping early: no page beyond what was asked for is fetched.
        let counted = transport.exchanges.count
        let first = try await client.records.list("items", pageSize: 100).first(5)
        #expect(first.map(\.id) == Array(ids.prefix(5)))
        #expect(transport.exchanges.count - counted == 1)
        let hundred = try await client.records.list("items", pageSize: 100).first(100)
        #expect(hundred.map(\.id) == Array(ids.prefix(100)))
        #expect(transport.exchanges.count - counted == 2)
        // Cancelling the iterating task stops fetching.
        let walk = Task {
            var seen = 0
            for try await _ in client.records.list("items", pageSize: 10) {
                seen += 1
                if seen == 15 { withUnsafeCurrentTask { $0?.cancel() } }
            }
            return seen
        }
        await #expect(throws: CancellationError.self) { _ = try await walk.value }
        #expect(transport.exchanges.count - counted == 4, "pages of 10 fetched: 2, then cancelled")
    }

    @Test func twoWritersWithIfMatchLoseNothing() async throws {
        let server = try LiveServer()
        let (client, _) = try await server.signUp("cas")
        let record = try await client.records.create(in: "counters", data: ["count": 0])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    for _ in 0..<20 {
                        try await client.records.modify(record.id, attempts: 50) { data in
                            data["count"] = .number((data["count"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? 0) + 1)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try await client.records.get(record.id)
        #expect(final.data["count"] == .number(40))
        #expect(final.version == 41)
    }

    // MARK: Webhooks

    @Test func aRealDeliveryVerifiesAndATamperedOrStaleOneDoesNot() async throws {
        let receiver = try WebhookReceiver()
        let server = try LiveServer(["--webhook-allow-private", "true"])
        let (client, _) = try await server.signUp("hooks")
        let hook = try await client.webhooks.createWebhook(
            WebhookCreate(url: "http://127.0.0.1:\(receiver.port)/hook", events: ["record.created"]))
        _ = try await client.records.create(in: "events", data: ["n": 1])
        let delivery = try #require(receiver.waitForRequests(1, timeout: 20).first)
        let body = Data(delivery.body)
        let verifier = try WebhookVerifier(secrets: [hook.secret])
        let event = try verifier.verify(body: body, headers: delivery.headers)
        #expect(event.type == "record.created" && event.workspaceId == hook.workspaceId)
        #expect(throws: WebhookVerifier.Failure.noMatchingSignature) {
            try verifier.verify(body: body + Data(" ".utf8), headers: delivery.headers)
        }
        #expect(throws: WebhookVerifier.Failure.staleTimestamp) {
            try verifier.verify(body: body, headers: delivery.headers, now: Date().addingTimeInterval(360))
        }
        var old = delivery.headers
        old["webhook-timestamp"] = String(Int(Date().timeIntervalSince1970) - 360)
        #expect(throws: WebhookVerifier.Failure.staleTimestamp) { try verifier.verify(body: body, headers: old) }
        // Rotation: the next delivery is signed by both secrets; either alone verifies.
        let rotated = try await client.webhooks.rotateWebhookSecret(id: hook.id)
        _ = try await client.records.create(in: "events", data: ["n": 2])
        let second = try #require(receiver.waitForRequests(2, timeout: 20).last)
        for secrets in [[hook.secret], [rotated.secret], [rotated.secret, hook.secret]] {
            _ = try WebhookVerifier(secrets: secrets).verify(body: Data(second.body), headers: second.headers)
        }
        let stranger = try WebhookVerifier(secrets: ["whsec_" + Data(repeating: 7, count: 32).base64EncodedString()])
        #expect(throws: WebhookVerifier.Failure.noMatchingSignature) {
            try stranger.verify(body: Data(second.body), headers: second.headers)
        }
        // The same signature as the server's own signer computes.
        let expected = try IndependentSignature.expected(
            secret: hook.secret, id: delivery.headers["webhook-id"] ?? "", timestamp: delivery.headers["webhook-timestamp"] ?? "",
            body: delivery.body)
        #expect(delivery.headers["webhook-signature"]?.contains(expected) == true)
    }

    // MARK: Drift

    @Test func theGeneratedCodeMatchesTheLiveDocumentAndCoversEveryOperation() async throws {
        let server = try LiveServer()
        let (data, _) = try await URLSession.shared.data(from: server.baseURL.appendingPathComponent("openapi.json"))
        let path = server.directory + "/openapi.json"
        try data.write(to: URL(fileURLWithPath: path))
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", LiveServer.root.appendingPathComponent("scripts/gen_swift_client.py").path, path, "--check"]
        let pipe = Pipe()
        check.standardOutput = pipe
        check.standardError = pipe
        try check.run()
        check.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(check.terminationStatus == 0, "\(output)")
        // Every operationId has a method or is excluded on purpose.
        let document = try JSONDecoder().decode(JSONValue.self, from: data)
        guard case .object(let root) = document, case .object(let paths)? = root["paths"] else { throw Failure("no paths") }
        var ids: [String] = []
        for case .object(let item) in paths.values {
            for (method, value) in item where ["get", "post", "put", "patch", "delete"].contains(method) {
                if case .object(let op) = value, case .string(let id)? = op["operationId"] { ids.append(id) }
            }
        }
        let covered = Set(Operations.all.map(\.id))
        #expect(ids.count == covered.count + Operations.excluded.count)
        for id in ids { #expect(covered.contains(id) || Operations.excluded[id] != nil, "\(id) has no SDK method") }
        #expect(Set(Operations.excluded.keys) == ["healthz", "readyz", "metrics", "openapi", "streamEvents"])
    }
}

/// A lock around a value, for test closures.
final class Locked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
