import AtriumJSON
import Foundation
import Testing

/// Overload is answered, not queued without end (api.md §1): a tenant past its share of a
/// worker pool's queue gets `503 UNAVAILABLE` with `Retry-After`, `/readyz` says so, and
/// `/metrics` counts what was shed by reason.
@Suite("Shedding")
struct SheddingTests {
    @Test("A tenant past its queue share gets 503 with Retry-After; /readyz (for five seconds) and /metrics report it; others are served")
    func tenantShareIsShed() throws {
        // Slow password hashing (one thread) and a share of one waiting job per tenant:
        // six logins from one address at once leave one running, one waiting, four shed.
        let server = try TestServer(["--password-iterations", "3000000", "--tenant-queue-limit", "1"])
        let setup = try server.client()
        let account = try setup.signUp(email: uniqueEmail("shed"))
        let body = #"{"email":"\#(account.email)","password":"\#(account.password)"}"#
        let clients = try (0..<6).map { _ in try server.client() }
        for client in clients {
            try client.send("POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
        // The shed requests are answered at once, the others after their hashing.
        var readyWhileShedding = try setup.request("GET", "/readyz")
        for _ in 0..<20 where readyWhileShedding.status == 200 {
            usleep(50_000)
            readyWhileShedding = try setup.request("GET", "/readyz")
        }
        var statuses: [Int] = []
        var shed: TestResponse?
        for client in clients {
            let response = try client.readResponse()
            statuses.append(response.status)
            if response.status == 503 && shed == nil { shed = response }
        }
        #expect(statuses.filter { $0 == 503 }.count >= 3, "\(statuses)")
        #expect(statuses.contains(200), "the running and the waiting login finish: \(statuses)")
        let refused = try #require(shed)
        expectError(refused, 503, "UNAVAILABLE")
        #expect(refused.header("Retry-After") == "1")
        let ready = readyWhileShedding
        #expect(ready.status == 503 && ready.header("Retry-After") != nil, "\(ready.status) \(ready.text)")
        let metrics = try setup.request("GET", "/metrics")
        #expect(metrics.text.contains(#"atrium_http_shed_requests_total{reason="tenant_share"} "#), "\(metrics.text)")
        #expect(!metrics.text.contains(#"atrium_http_shed_requests_total{reason="tenant_share"} 0"#))
        // Another tenant (a credential) is served meanwhile, and readiness comes back.
        #expect(try setup.request("GET", "/v1/me", headers: [account.bearer]).status == 200)
        usleep(5_200_000)
        #expect(try setup.request("GET", "/readyz").status == 200, "ready again five seconds after the last shed")
    }

    @Test("--fair-scheduling false serves first come, first served (the comparison the benchmark makes)")
    func fairSchedulingFlag() throws {
        let server = try TestServer(["--fair-scheduling", "false"])
        let client = try server.client()
        #expect(try client.request("GET", "/healthz").status == 200)
        let bad = try AtriumBinary.run(["serve", "--fair-scheduling", "maybe", "--port", "0",
                                        "--data-dir", TestServer.makeTemporaryDirectory()], timeout: 10)
        #expect(bad.status != 0)
    }
}
