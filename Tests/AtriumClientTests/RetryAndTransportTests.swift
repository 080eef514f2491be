@testable import AtriumClient
import AtriumTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Which requests the SDK repeats, and the Linux transport under cancellation and deadlines.
@Suite struct RetryAndTransportTests {
    static let base = URL(string: "http://atrium.invalid")!

    static func client(_ transport: ScriptedTransport, maxRetries: Int = 2) -> AtriumClient {
        AtriumClient(AtriumConfiguration(baseURL: base, credential: .apiKey("atr_test"),
                                         retry: RetryPolicy(maxRetries: maxRetries, initialDelay: .milliseconds(1),
                                                            maxDelay: .milliseconds(5), maxRetryAfter: .seconds(2)),
                                         transport: transport))
    }

    static let record = #"{"id":1,"workspace_id":2,"collection":"c","data":{},"version":1,"created_by":3,"created_at":"2026-12-07T10:00:00.123Z","updated_at":"2026-12-07T10:00:00Z"}"#

    @Test func readsRetryOn503And500And429WithRetryAfter() async throws {
        let transport = ScriptedTransport([ScriptedTransport.error(503, "UNAVAILABLE", headers: ["retry-after": "0"]),
                                           ScriptedTransport.error(500, "INTERNAL"),
                                           .success(ScriptedTransport.json(200, Self.record))])
        let record = try await Self.client(transport).records.get(1)
        #expect(record.id == 1 && transport.sent.count == 3)

        let limited = ScriptedTransport([ScriptedTransport.error(429, "RATE_LIMITED", headers: ["retry-after": "1"]),
                                         .success(ScriptedTransport.json(200, Self.record))])
        let start = ContinuousClock.now
        _ = try await Self.client(limited).records.get(1)
        #expect(ContinuousClock.now - start >= .seconds(1), "Retry-After is honoured")
        // Beyond the cap: not waited for.
        let far = ScriptedTransport([ScriptedTransport.error(429, "RATE_LIMITED", headers: ["retry-after": "3600"])])
        await #expect { try await Self.client(far).records.get(1) } throws: { ($0 as? AtriumError)?.retryAfter == .seconds(3600) }
        #expect(far.sent.count == 1)
    }

    @Test func createsRepeatTheirIdempotencyKeyAndOtherWritesDoNotRetry() async throws {
        let lost = AtriumError.transport(.connectionLost("reset"))
        let create = ScriptedTransport([.failure(lost), ScriptedTransport.error(503, "UNAVAILABLE"),
                                        .success(ScriptedTransport.json(201, Self.record))])
        _ = try await Self.client(create).records.create(in: "c", data: [:])
        let keys = create.sent.map { $0.header("Idempotency-Key") }
        #expect(keys.count == 3 && Set(keys).count == 1 && keys[0] != nil)

        // A merge PATCH and a POST without a key: not repeated after the answer was lost or a 503…
        let patch = ScriptedTransport([.failure(lost)])
        await #expect(throws: AtriumError.self) { try await Self.client(patch).records.update(1, merge: [:]) }
        #expect(patch.sent.count == 1)
        let rotate = ScriptedTransport([ScriptedTransport.error(503, "UNAVAILABLE")])
        await #expect(throws: AtriumError.self) { try await Self.client(rotate).webhooks.rotateWebhookSecret(id: 1) }
        #expect(rotate.sent.count == 1)
        // A 429 was refused before anything happened: even a merge PATCH waits and tries again.
        let limited = ScriptedTransport([ScriptedTransport.error(429, "RATE_LIMITED", headers: ["retry-after": "0"]),
                                         .success(ScriptedTransport.json(200, Self.record))])
        _ = try await Self.client(limited).records.update(1, merge: [:])
        #expect(limited.sent.count == 2)
        // …but repeated when the connection was never made.
        let refused = ScriptedTransport([.failure(AtriumError.transport(.cannotConnect("refused"))),
                                         .success(ScriptedTransport.json(200, Self.record))])
        _ = try await Self.client(refused).records.update(1, merge: [:])
        #expect(refused.sent.count == 2)
        // 409, 412 and other 4xx never.
        for code in [(409, "IDEMPOTENCY_CONFLICT"), (412, "PRECONDITION_FAILED"), (400, "VALIDATION_FAILED")] {
            let transport = ScriptedTransport([ScriptedTransport.error(code.0, code.1)])
            await #expect(throws: AtriumError.self) { try await Self.client(transport).records.replace(1, data: [:]) }
            #expect(transport.sent.count == 1)
        }
        // A retried PUT that ends in 412 says how many attempts it made.
        let ambiguous = ScriptedTransport([.failure(lost), ScriptedTransport.error(412, "PRECONDITION_FAILED")])
        await #expect { try await Self.client(ambiguous).records.replace(1, data: [:], ifMatch: ETag(version: 1)) }
            throws: { ($0 as? AtriumError)?.attempts == 2 }
    }

    @Test func refreshIsNeverRetried() async throws {
        let transport = ScriptedTransport([.failure(AtriumError.transport(.cannotConnect("refused")))])
        await #expect(throws: AtriumError.self) {
            try await Self.client(transport).auth.refresh(RefreshRequest(refreshToken: "r"))
        }
        #expect(transport.sent.count == 1)
    }

    /// FoundationNetworking follows redirects and forwards `Authorization` to another host; the
    /// transport refuses them: the 3xx is the answer, and the other host hears nothing.
    @Test func redirectsAreNotFollowed() async throws {
        let target = try WebhookReceiver()
        let redirecting = try WebhookReceiver { _ in
            ReceiverReply(status: 302, headers: [("Location", "http://localhost:\(target.port)/stolen")])
        }
        let client = AtriumClient(AtriumConfiguration(baseURL: URL(string: "http://127.0.0.1:\(redirecting.port)")!,
                                                      credential: .apiKey("atr_secret", via: .xAPIKey),
                                                      retry: RetryPolicy(maxRetries: 0)))
        await #expect { try await client.me.getMe() } throws: { ($0 as? AtriumError)?.status == 302 }
        let asked = redirecting.waitForRequests(1, timeout: 5)
        #expect(asked.first?.headers["x-api-key"] == "atr_secret")
        try await Task.sleep(for: .milliseconds(300))
        #expect(target.requests.isEmpty)
        target.stop()
        redirecting.stop()
    }

    /// Cancellation at random moments, deadlines and closed ports: every call ends (no crash, no
    /// hang: the test has its own deadline), and the transport never calls `cancel()`.
    @Test func cancellationStorm() async throws {
        let server = try LiveServer()
        let slow = try WebhookReceiver { _ in ReceiverReply(status: 200, delay: 3) }
        let closedPort = 1  // nothing listens: refused
        let transport = URLSessionTransport()
        let healthz = URLRequest(url: server.baseURL.appendingPathComponent("healthz"))
        let stalled = URLRequest(url: URL(string: "http://127.0.0.1:\(slow.port)/slow")!)
        let refused = URLRequest(url: URL(string: "http://127.0.0.1:\(closedPort)/")!)
        let finished = Locked(0)
        let storm = Task {
            for round in 0..<30 {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<100 {
                        let request = [healthz, healthz, stalled, refused][index % 4]
                        let task = Task {
                            _ = try? await transport.send(request, timeout: .milliseconds(Int64(50 + (index % 5) * 40)))
                            finished.withLock { $0 += 1 }
                        }
                        group.addTask {
                            try? await Task.sleep(for: .microseconds(Int64.random(in: 0...3_000)))
                            if (index + round) % 3 != 0 { task.cancel() }
                            _ = await task.result
                        }
                    }
                }
            }
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            storm.cancel()
            throw Failure("the storm did not finish within 60 s")
        }
        await storm.value
        watchdog.cancel()
        #expect(finished.withLock { $0 } == 3000)
        // A deadline shorter than the server's answer ends the call at the deadline.
        let start = ContinuousClock.now
        await #expect { try await transport.send(stalled, timeout: .milliseconds(200)) }
            throws: { ($0 as? AtriumError)?.transport == .timedOut }
        #expect(ContinuousClock.now - start < .seconds(2))
        // Throwing groups of calls that time out, the first failure cancelling the rest: the
        // shape that hangs the built-in data(for:) on this Swift (docs/sdk.md).
        for size in [2, 6, 20, 2, 6, 20, 2, 6, 20] {
            await #expect(throws: AtriumError.self) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<size {
                        group.addTask { _ = try await transport.send(stalled, timeout: .milliseconds(Int64(100 + index * 7))) }
                    }
                    try await group.waitForAll()
                }
            }
        }
        // And after all that, the transport still works.
        let answer = try await transport.send(healthz, timeout: .seconds(5))
        #expect(answer.status == 200)
        slow.stop()
    }
}
