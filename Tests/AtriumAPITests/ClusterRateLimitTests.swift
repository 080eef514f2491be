import AtriumTestSupport
import Foundation
import Glibc
import Testing

/// Per-plan request rates held for a cluster (configuration.md "Request rates"): two
/// instances on one PostgreSQL share their counts every 250 ms, so a limit holds for the
/// cluster within the documented tolerance.
@Suite("Rate limits across instances", .serialized,
       .enabled(if: TestEngine.isPostgres, "several instances share one database only on PostgreSQL"))
struct ClusterRateLimitTests {
    @Test("requests_per_minute 60, requests alternated between two instances: at most 60 + 1 pass, then both refuse")
    func workspaceLimitAcrossInstances() throws {
        let cluster = try TestCluster(2, ["--requests-per-minute", "60"])
        let clients = try [cluster[0].client(), cluster[1].client()]
        let owner = try clients[0].signUp()
        let path = "/v1/workspaces/\(owner.mainWorkspaceID)"
        // Both instances have synced (each sees the other live), and the minute window has at
        // least 12 s left, so the burst below cannot straddle two windows.
        usleep(800_000)
        let second = Int(Date().timeIntervalSince1970) % 60
        if second > 45 { usleep(UInt32((61 - second) * 1_000_000)) }
        let started = Date()
        var passed = 0
        var refused = [0, 0]
        var index = 0
        while Date().timeIntervalSince(started) < 5 {
            let response = try clients[index % 2].request("GET", path, headers: [owner.bearer])
            if response.status == 200 {
                passed += 1
            } else {
                expectError(response, 429, "RATE_LIMITED")
                refused[index % 2] += 1
            }
            index += 1
            usleep(1_000)
        }
        // Tolerance for two instances (configuration.md): at most `instances − 1` over.
        #expect(passed <= 61, "\(passed) passed on the cluster for a limit of 60")
        #expect(passed >= 57, "only \(passed) passed for a limit of 60")
        #expect(refused[0] > 0 && refused[1] > 0, "both instances refused: \(refused)")
        for client in clients {
            let response = try client.request("GET", path, headers: [owner.bearer])
            expectError(response, 429, "RATE_LIMITED")
            let windowLeft = 60 - Int(Date().timeIntervalSince1970) % 60
            let retryAfter = try #require(response.header("Retry-After").flatMap { Int($0) })
            #expect(abs(retryAfter - windowLeft) <= 2, "Retry-After \(retryAfter): the window ends in \(windowLeft) s")
            #expect(response.header("RateLimit-Remaining") == "0")
            #expect(response.header("RateLimit-Limit") == "60")
        }
    }
}
