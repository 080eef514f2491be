import AtriumJSON
import AtriumTestSupport
import Foundation
import Glibc
import Testing

/// Webhook delivery over real sockets (api.md §6, docs/webhooks.md): a real server delivers to
/// receivers on 127.0.0.1; signatures are checked with Python's HMAC, not ours.
@Suite("Webhook delivery", .serialized)
struct WebhookDeliveryTests {
    @Test func aRecordEventArrivesSignedWithTheContractShape() throws {
        let receiver = try WebhookReceiver()
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(receiver.port)/hooks?x=1")
        let recordID = try Hooks.createRecord(client, owner.bearer, data: #"{"title":"hello","n":1}"#)

        let requests = receiver.waitForRequests(1)
        let request = try #require(requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/hooks?x=1")
        #expect(request.headers["content-type"] == "application/json")
        try Hooks.expectSigned(request, secrets: [hook.secret])
        let body = Hooks.json(request)
        let eventID = try #require(body["id"]?.stringValue)
        #expect(eventID.hasPrefix("evt_"))
        #expect(request.headers["webhook-id"] == eventID)
        #expect(body["type"]?.stringValue == "record.created")
        #expect(body["workspace_id"]?.int64Value == owner.mainWorkspaceID)
        #expect(Admin.date(body["created_at"]) != nil)
        #expect(body["data"]?["id"]?.int64Value == recordID)
        #expect(body["data"]?["data"]?["title"]?.stringValue == "hello")

        let rows = try Hooks.waitForDeliveries(client, owner.bearer, hook.id) { $0.first?["status"]?.stringValue == "succeeded" }
        let row = try #require(rows.first)
        #expect(row["event_id"]?.stringValue == eventID)
        #expect(row["event_type"]?.stringValue == "record.created")
        #expect(row["attempt"]?.int64Value == 1)
        #expect(row["response_status"]?.int64Value == 200)
        #expect(row["next_attempt_at"] == .null)
        #expect(row["webhook_id"]?.int64Value == hook.id)
        _ = server.stop()
    }

    @Test func everyEventTypeReachesTheEndpointsThatWantItAndNoOther() throws {
        let all = try WebhookReceiver()
        let members = try WebhookReceiver()
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let owner = try client.signUp()
        let workspace = owner.mainWorkspaceID
        _ = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(all.port)/")
        _ = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(members.port)/",
                               events: ["member.added", "member.removed", "member.role_changed"])

        let record = try Hooks.createRecord(client, owner.bearer)
        #expect(try client.request("PATCH", "/v1/records/\(record)", headers: [owner.bearer],
                                   body: #"{"data":{"title":"u"}}"#).status == 200)
        #expect(try client.request("DELETE", "/v1/records/\(record)", headers: [owner.bearer]).status == 204)
        #expect(try client.request("PATCH", "/v1/workspaces/\(workspace)", headers: [owner.bearer],
                                   body: #"{"name":"Renamed"}"#).status == 200)
        let (_, memberID) = try Admin.join(client, owner: owner, workspace, role: "viewer")
        #expect(try Admin.changeRole(client, owner, workspace, memberID: memberID, role: "editor").status == 200)
        #expect(try Admin.removeMember(client, owner, workspace, memberID: memberID).status == 204)

        let expected = ["record.created", "record.updated", "record.deleted", "workspace.updated", "member.added",
                        "member.role_changed", "member.removed"]
        // Attempts run concurrently, so arrival order is not event order: sort by event id.
        let everything = Hooks.inEventOrder(all.waitForRequests(expected.count)).map { Hooks.json($0)["type"]?.stringValue ?? "" }
        #expect(everything == expected)
        let memberOnly = Hooks.inEventOrder(members.waitForRequests(3)).map { Hooks.json($0)["type"]?.stringValue ?? "" }
        #expect(memberOnly == ["member.added", "member.role_changed", "member.removed"])
        usleep(300_000)
        #expect(members.requests.count == 3)
        _ = server.stop()
    }

    @Test func fieldsNarrowTheRecordDataAndInactiveEndpointsGetNothing() throws {
        let narrow = try WebhookReceiver()
        let inactive = try WebhookReceiver()
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let owner = try client.signUp()
        _ = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(narrow.port)/", events: ["record.created"],
                               fields: ["title"])
        let off = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(inactive.port)/")
        #expect(try client.request("PATCH", "/v1/webhooks/\(off.id)", headers: [owner.bearer],
                                   body: #"{"active":false}"#).json["active"] == .bool(false))
        _ = try Hooks.createRecord(client, owner.bearer, data: #"{"title":"t","secret":"s","n":2}"#)

        let request = try #require(narrow.waitForRequests(1).first)
        let data = Hooks.json(request)["data"]
        #expect(data?["data"]?.objectValue?.keys == ["title"])
        #expect(data?["collection"]?.stringValue == "items")
        usleep(500_000)
        #expect(inactive.requests.isEmpty)
        _ = server.stop()
    }

    @Test func anotherWorkspacesEventsNeverReachThisEndpoint() throws {
        let mine = try WebhookReceiver()
        let theirs = try WebhookReceiver()
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let me = try client.signUp()
        let them = try client.signUp()
        let second = try client.createWorkspace(me)
        _ = try Hooks.endpoint(client, me.bearer, url: "http://127.0.0.1:\(mine.port)/")
        _ = try Hooks.endpoint(client, them.bearer, url: "http://127.0.0.1:\(theirs.port)/")
        _ = try Hooks.createRecord(client, them.bearer, data: #"{"owner":"them"}"#)
        _ = try Hooks.createRecord(client, me.bearer, data: #"{"owner":"me"}"#, workspaceID: second)
        _ = try Hooks.createRecord(client, me.bearer, data: #"{"owner":"me-main"}"#)

        let received = mine.waitForRequests(1)
        #expect(theirs.waitForRequests(1).count == 1)
        usleep(400_000)
        #expect(received.count == 1)
        #expect(mine.requests.allSatisfy { Hooks.json($0)["workspace_id"]?.int64Value == me.mainWorkspaceID })
        #expect(theirs.requests.allSatisfy { Hooks.json($0)["data"]?["data"]?["owner"]?.stringValue == "them" })
        _ = server.stop()
    }

    @Test func failuresAreRetriedOnTheScheduleUntilTheReceiverRecovers() throws {
        let receiver = try WebhookReceiver { index in ReceiverReply(status: index < 2 ? 500 : 204) }
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(receiver.port)/")
        _ = try Hooks.createRecord(client, owner.bearer)

        // Base 50 ms: the retries come about 50 ms and 3 s after the failures.
        let requests = receiver.waitForRequests(3, timeout: 15)
        try #require(requests.count == 3)
        #expect(Set(requests.map { $0.headers["webhook-id"] ?? "" }).count == 1)
        let firstGap = requests[1].receivedAt - requests[0].receivedAt
        let secondGap = requests[2].receivedAt - requests[1].receivedAt
        #expect(firstGap >= 0.04)
        #expect(secondGap >= 2.5)
        #expect(secondGap > firstGap)
        let rows = try Hooks.waitForDeliveries(client, owner.bearer, hook.id) {
            $0.first?["status"]?.stringValue == "succeeded"
        }
        #expect(rows.map { $0["attempt"]?.int64Value } == [3, 2, 1])
        #expect(rows.map { $0["status"]?.stringValue } == ["succeeded", "failed", "failed"])
        #expect(rows.map { $0["response_status"]?.int64Value } == [204, 500, 500])
        #expect(rows[1]["next_attempt_at"] != .null)
        #expect(rows[0]["next_attempt_at"] == .null)
        _ = server.stop()
    }

    @Test(arguments: [429, 503])
    func retryAfterIsHonoured(status: Int) throws {
        let receiver = try WebhookReceiver { index in
            index == 0 ? ReceiverReply(status: status, headers: [("Retry-After", "2")]) : ReceiverReply()
        }
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let owner = try client.signUp()
        _ = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(receiver.port)/")
        _ = try Hooks.createRecord(client, owner.bearer)
        let requests = receiver.waitForRequests(2, timeout: 10)
        try #require(requests.count == 2)
        // Without Retry-After the retry would come after 50 ms.
        #expect(requests[1].receivedAt - requests[0].receivedAt >= 1.8)
        _ = server.stop()
    }

    @Test func a410DisablesTheEndpoint() throws {
        let receiver = try WebhookReceiver { _ in ReceiverReply(status: 410) }
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(receiver.port)/")
        _ = try Hooks.createRecord(client, owner.bearer)
        _ = receiver.waitForRequests(1)
        let rows = try Hooks.waitForDeliveries(client, owner.bearer, hook.id) { !$0.isEmpty }
        #expect(rows.count == 1)
        #expect(rows.first?["status"]?.stringValue == "failed")
        #expect(rows.first?["response_status"]?.int64Value == 410)
        #expect(rows.first?["next_attempt_at"] == .null)
        let endpoint = try client.request("GET", "/v1/webhooks/\(hook.id)", headers: [owner.bearer])
        #expect(endpoint.json["active"] == .bool(false))
        #expect(endpoint.json["disabled_reason"]?.stringValue == "gone")
        _ = try Hooks.createRecord(client, owner.bearer)
        usleep(500_000)
        #expect(receiver.requests.count == 1)
        _ = server.stop()
    }

    @Test func anAttemptThatOutlivesTheTimeoutFails() throws {
        let receiver = try WebhookReceiver { index in ReceiverReply(delay: index == 0 ? 3 : 0) }
        let server = try TestServer(Hooks.localFlags + ["--webhook-timeout", "1"])
        let client = try server.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(receiver.port)/")
        _ = try Hooks.createRecord(client, owner.bearer)
        let rows = try Hooks.waitForDeliveries(client, owner.bearer, hook.id, timeout: 15) {
            $0.contains { $0["status"]?.stringValue == "succeeded" }
        }
        let first = try #require(rows.last)
        #expect(first["attempt"]?.int64Value == 1)
        #expect(first["status"]?.stringValue == "failed")
        #expect(first["error"]?.stringValue?.contains("timeout") == true)
        #expect(first["response_status"] == .null)
        #expect(rows.first?["status"]?.stringValue == "succeeded")
        _ = server.stop()
    }

    @Test func aSlowReceiverDoesNotHoldBackAFastOne() throws {
        let slow = try WebhookReceiver { _ in ReceiverReply(delay: 3) }
        let fast = try WebhookReceiver()
        let server = try TestServer(Hooks.localFlags + ["--webhook-concurrency", "4", "--webhook-endpoint-concurrency", "2"])
        let client = try server.client()
        let owner = try client.signUp()
        let other = try client.createWorkspace(owner)
        _ = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(slow.port)/")
        _ = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(fast.port)/")
        _ = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(fast.port)/other", workspaceID: other)
        let start = WebhookReceiver.monotonicSeconds()
        for _ in 0..<10 { _ = try Hooks.createRecord(client, owner.bearer) }
        for _ in 0..<5 { _ = try Hooks.createRecord(client, owner.bearer, workspaceID: other) }
        let delivered = fast.waitForRequests(15, timeout: 10)
        #expect(delivered.count == 15)
        // The slow endpoint holds two workers for 3 s per pair of events; the fast one is done
        // well before the slow one's second pair.
        #expect((delivered.last?.receivedAt ?? .infinity) - start < 2.5)
        #expect(slow.requests.count <= 4)
        _ = server.stop()
    }

    @Test func rotationSignsWithBothSecretsForADay() throws {
        let receiver = try WebhookReceiver()
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(receiver.port)/")
        let rotated = try client.request("POST", "/v1/webhooks/\(hook.id)/rotate-secret", headers: [owner.bearer])
        #expect(rotated.status == 200)
        let newSecret = try #require(rotated.json["secret"]?.stringValue)
        #expect(newSecret != hook.secret)
        _ = try Hooks.createRecord(client, owner.bearer)
        let request = try #require(receiver.waitForRequests(1).first)
        try Hooks.expectSigned(request, secrets: [newSecret, hook.secret])
        _ = server.stop()
    }

    @Test func pendingDeliveriesSurviveKill9() throws {
        let port = try Hooks.closedPort()
        let directory = TestServer.makeTemporaryDirectory()
        let first = try TestServer(Hooks.localFlags, dataDirectory: directory)
        let client = try first.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(port)/")
        // One event fails its first attempt (nobody listens) and waits for its retry; the other
        // is committed just before the kill, probably before any attempt.
        _ = try Hooks.createRecord(client, owner.bearer, data: #"{"n":1}"#)
        _ = try Hooks.waitForDeliveries(client, owner.bearer, hook.id) { !$0.isEmpty }
        _ = try Hooks.createRecord(client, owner.bearer, data: #"{"n":2}"#)
        first.kill9()

        let receiver = try WebhookReceiver(port: port)
        let second = try TestServer(Hooks.localFlags, dataDirectory: directory)
        let numbers = Set(receiver.waitForRequests(2, timeout: 15).compactMap {
            Hooks.json($0)["data"]?["data"]?["n"]?.int64Value
        })
        #expect(numbers == [1, 2])
        _ = second.stop()
    }

    @Test func metricsCountDeliveries() throws {
        let receiver = try WebhookReceiver()
        let server = try TestServer(Hooks.localFlags)
        let client = try server.client()
        let owner = try client.signUp()
        _ = try Hooks.endpoint(client, owner.bearer, url: "http://127.0.0.1:\(receiver.port)/")
        _ = try Hooks.createRecord(client, owner.bearer)
        _ = receiver.waitForRequests(1)
        usleep(200_000)
        let text = try client.request("GET", "/metrics").text
        #expect(text.contains(#"atrium_webhook_deliveries_total{outcome="succeeded"} 1"#))
        #expect(text.contains("atrium_webhook_queue_depth 0"))
        #expect(text.contains("atrium_webhook_attempt_duration_seconds_count 1"))
        _ = server.stop()
    }
}

/// HTTPS receivers with a CA made at test time.
@Suite("Webhook delivery over HTTPS", .enabled(if: TestPKI.shared != nil, "openssl is missing: HTTPS tests skipped"))
struct WebhookHTTPSTests {
    @Test func deliversToAReceiverTrustedThroughTheCAFileOnly() throws {
        let pki = try #require(TestPKI.shared)
        let tls = try ServerTLSContext(certificateChain: pki.serverCertificate, privateKey: pki.serverKey)
        let receiver = try WebhookReceiver(tls: tls)
        let trusting = try TestServer(Hooks.localFlags + ["--webhook-ca-file", pki.caCertificate])
        let client = try trusting.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "https://localhost:\(receiver.port)/secure")
        _ = try Hooks.createRecord(client, owner.bearer)
        let request = try #require(receiver.waitForRequests(1).first)
        try Hooks.expectSigned(request, secrets: [hook.secret])
        _ = trusting.stop()

        // The same receiver, without the CA file: the certificate is not trusted.
        let plain = try TestServer(Hooks.localFlags)
        let other = try plain.client()
        let account = try other.signUp()
        let untrusted = try Hooks.endpoint(other, account.bearer, url: "https://localhost:\(receiver.port)/secure")
        _ = try Hooks.createRecord(other, account.bearer)
        let rows = try Hooks.waitForDeliveries(other, account.bearer, untrusted.id) { !$0.isEmpty }
        #expect(rows.last?["status"]?.stringValue == "failed")
        #expect(rows.last?["error"]?.stringValue?.lowercased().contains("tls") == true)
        #expect(receiver.requests.count == 1)
        _ = plain.stop()
    }
}
