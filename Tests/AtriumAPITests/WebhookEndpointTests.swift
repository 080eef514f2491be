import AtriumJSON
import AtriumTestSupport
import Foundation
import Glibc
import Testing

/// The webhook endpoints of api.md §6: shapes, validation, permissions, the row rule, the
/// SSRF guard at creation and at connect time. Every error path checks that nothing was written.
@Suite("Webhook endpoints", .serialized)
struct WebhookEndpointTests {
    let server: TestServer
    let client: HTTPTestClient
    let owner: TestAccount

    init() throws {
        server = try TestServer()
        client = try server.client()
        owner = try client.signUp()
    }

    func count(_ account: TestAccount, workspaceID: Int64? = nil) throws -> Int {
        var headers = [account.bearer]
        if let workspaceID { headers.append(("X-Workspace-ID", String(workspaceID))) }
        let response = try client.request("GET", "/v1/webhooks?limit=100", headers: headers)
        return response.json["data"]?.arrayValue?.count ?? -1
    }

    @Test func createReadListUpdateRotateDelete() throws {
        let created = try Hooks.create(client, owner.bearer, url: "https://example.com/hooks",
                                       events: ["record.created", "record.created", "member.added"], fields: ["title"])
        #expect(created.status == 201)
        let id = try #require(created.json["id"]?.int64Value)
        #expect(created.header("Location") == "/v1/webhooks/\(id)")
        #expect(created.header("X-Workspace-ID") == String(owner.mainWorkspaceID))
        let secret = try #require(created.json["secret"]?.stringValue)
        #expect(secret.hasPrefix("whsec_"))
        let key = try #require(Data(base64Encoded: String(secret.dropFirst(6))))
        #expect(key.count >= 24)
        #expect(created.json["events"] == .array([.string("record.created"), .string("member.added")]))
        #expect(created.json["fields"] == .array([.string("title")]))
        #expect(created.json["active"] == .bool(true))
        #expect(created.json["workspace_id"]?.int64Value == owner.mainWorkspaceID)
        #expect(created.json["description"] == .null)
        #expect(created.json["disabled_reason"] == .null)

        let read = try client.request("GET", "/v1/webhooks/\(id)", headers: [owner.bearer])
        #expect(read.status == 200)
        #expect(read.json["secret"] == nil)
        #expect(read.json["url"]?.stringValue == "https://example.com/hooks")
        let list = try client.request("GET", "/v1/webhooks", headers: [owner.bearer])
        #expect(list.json["data"]?.arrayValue?.map { $0["id"]?.int64Value } == [id])
        #expect(list.json["data"]?.arrayValue?.first?["secret"] == nil)
        #expect(list.json["next_cursor"] == .null)

        let patched = try client.request("PATCH", "/v1/webhooks/\(id)", headers: [owner.bearer],
                                         body: #"{"description":"CRM","events":["*"],"fields":null,"active":false}"#)
        #expect(patched.status == 200)
        #expect(patched.json["description"]?.stringValue == "CRM")
        #expect(patched.json["events"] == .array([.string("*")]))
        #expect(patched.json["fields"] == .null)
        #expect(patched.json["active"] == .bool(false))
        #expect(patched.json["secret"] == nil)

        let rotated = try client.request("POST", "/v1/webhooks/\(id)/rotate-secret", headers: [owner.bearer])
        #expect(rotated.status == 200)
        let next = try #require(rotated.json["secret"]?.stringValue)
        #expect(next.hasPrefix("whsec_") && next != secret)
        #expect(rotated.json["secret_rotated_at"] != .null)

        #expect(try client.request("DELETE", "/v1/webhooks/\(id)", headers: [owner.bearer]).status == 204)
        #expect(try client.request("GET", "/v1/webhooks/\(id)", headers: [owner.bearer]).errorCode == "NOT_FOUND")
        #expect(try client.request("DELETE", "/v1/webhooks/\(id)", headers: [owner.bearer]).status == 404)

        let actions = try Admin.auditEntries(client, owner.bearer, owner.mainWorkspaceID).compactMap { $0["action"]?.stringValue }
        for action in ["webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.deleted"] {
            #expect(actions.contains(action), "\(action) in \(actions)")
        }
        let audit = try client.request("GET", "/v1/audit-log?limit=100", headers: [owner.bearer]).text
        #expect(!audit.contains("whsec_"))
    }

    @Test func listsPageNewestFirst() throws {
        var ids: [Int64] = []
        for n in 0..<3 { ids.append(try Hooks.endpoint(client, owner.bearer, url: "https://example.com/\(n)").id) }
        let first = try client.request("GET", "/v1/webhooks?limit=2", headers: [owner.bearer])
        #expect(first.json["data"]?.arrayValue?.map { $0["id"]?.int64Value } == [ids[2], ids[1]])
        let cursor = try #require(first.json["next_cursor"]?.stringValue)
        let second = try client.request("GET", "/v1/webhooks?limit=2&cursor=\(cursor)", headers: [owner.bearer])
        #expect(second.json["data"]?.arrayValue?.map { $0["id"]?.int64Value } == [ids[0]])
        #expect(second.json["next_cursor"] == .null)
        #expect(try client.request("GET", "/v1/webhooks?limit=0", headers: [owner.bearer]).errorCode == "INVALID_PARAMETER")
        #expect(try client.request("GET", "/v1/webhooks?cursor=zzz", headers: [owner.bearer]).errorCode == "INVALID_PARAMETER")
        let deliveries = try client.request("GET", "/v1/webhooks/\(ids[0])/deliveries", headers: [owner.bearer])
        #expect(deliveries.status == 200)
        #expect(deliveries.json["data"] == .array([]))
        #expect(deliveries.json["next_cursor"] == .null)
    }

    @Test(arguments: [
        (#"{"events":["*"]}"#, "url"),
        (#"{"url":"https://example.com/","events":[]}"#, "events"),
        (#"{"url":"https://example.com/"}"#, "events"),
        (#"{"url":"https://example.com/","events":["record.exploded"]}"#, "events"),
        (#"{"url":"https://example.com/","events":"*"}"#, "events"),
        (#"{"url":"https://example.com/","events":["*"],"fields":"title"}"#, "fields"),
        (#"{"url":"https://example.com/","events":["*"],"fields":[""]}"#, "fields"),
        (#"{"url":"https://example.com/","events":["*"],"active":"yes"}"#, "active"),
        (#"{"url":"https://example.com/","events":["*"],"description":7}"#, "description"),
        (#"{"url":42,"events":["*"]}"#, "url"),
        (#"{"url":"not a url","events":["*"]}"#, "url"),
        (#"{"url":"ftp://example.com/","events":["*"]}"#, "url"),
        (#"{"url":"https://user:pw@example.com/","events":["*"]}"#, "url"),
        (#"{"url":"https://example.com/#x","events":["*"]}"#, "url"),
    ])
    func invalidBodiesAreRefusedAndNothingIsWritten(body: String, field: String) throws {
        let response = try client.request("POST", "/v1/webhooks", headers: [owner.bearer], body: body)
        #expect(response.status == 400)
        #expect(response.errorCode == "VALIDATION_FAILED")
        let fields = response.json["error"]?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields.contains(field), "\(fields)")
        #expect(try count(owner) == 0)
    }

    @Test func malformedRequestsAreRefused() throws {
        let noType = try client.request("POST", "/v1/webhooks", headers: [owner.bearer, ("Content-Type", "text/plain")],
                                        body: #"{"url":"https://example.com/","events":["*"]}"#)
        #expect(noType.status == 415)
        #expect(noType.errorCode == "UNSUPPORTED_MEDIA_TYPE")
        let broken = try client.request("POST", "/v1/webhooks", headers: [owner.bearer], body: #"{"url":"#)
        #expect(broken.errorCode == "INVALID_JSON")
        #expect(try client.request("GET", "/v1/webhooks/abc", headers: [owner.bearer]).errorCode == "INVALID_PARAMETER")
        #expect(try client.request("GET", "/v1/webhooks/0", headers: [owner.bearer]).errorCode == "INVALID_PARAMETER")
        #expect(try client.request("GET", "/v1/webhooks/999999", headers: [owner.bearer]).errorCode == "NOT_FOUND")
        #expect(try client.request("GET", "/v1/webhooks").errorCode == "UNAUTHENTICATED")
        #expect(try count(owner) == 0)
    }

    @Test func patchValidatesAndChangesNothingOnError() throws {
        let hook = try Hooks.endpoint(client, owner.bearer, url: "https://example.com/a")
        for body in [#"{"url":"http://10.0.0.1/"}"#, #"{"events":[]}"#, #"{"active":1}"#] {
            let response = try client.request("PATCH", "/v1/webhooks/\(hook.id)", headers: [owner.bearer], body: body)
            #expect(response.errorCode == "VALIDATION_FAILED", "\(body)")
        }
        let read = try client.request("GET", "/v1/webhooks/\(hook.id)", headers: [owner.bearer])
        #expect(read.json["url"]?.stringValue == "https://example.com/a")
        #expect(read.json["events"] == .array([.string("*")]))
        #expect(read.json["active"] == .bool(true))
        let unchanged = try client.request("PATCH", "/v1/webhooks/\(hook.id)", headers: [owner.bearer], body: "{}")
        #expect(unchanged.status == 200)
        #expect(unchanged.json["updated_at"] == read.json["updated_at"])
    }

    @Test func rolesAndKeyPermissionsDecide() throws {
        let workspace = owner.mainWorkspaceID
        let hook = try Hooks.endpoint(client, owner.bearer, url: "https://example.com/a")
        let (editor, _) = try Admin.join(client, owner: owner, workspace, role: "editor")
        let selected = ("X-Workspace-ID", String(workspace))
        let denied = try client.request("GET", "/v1/webhooks", headers: [editor.bearer, selected])
        #expect(denied.errorCode == "PERMISSION_DENIED")
        #expect(try client.request("GET", "/v1/webhooks/\(hook.id)", headers: [editor.bearer]).errorCode == "PERMISSION_DENIED")
        #expect(try Hooks.create(client, editor.bearer, url: "https://example.com/b", workspaceID: workspace).errorCode
                == "PERMISSION_DENIED")
        #expect(try client.request("DELETE", "/v1/webhooks/\(hook.id)", headers: [editor.bearer]).errorCode
                == "PERMISSION_DENIED")

        let reader = try client.createKey(owner, mode: "full", permissions: ["webhooks:read"])
        let keyHeader = ("Authorization", "Bearer \(reader.secret)")
        #expect(try client.request("GET", "/v1/webhooks/\(hook.id)", headers: [keyHeader]).status == 200)
        #expect(try Hooks.create(client, keyHeader, url: "https://example.com/c").errorCode == "PERMISSION_DENIED")
        #expect(try client.request("POST", "/v1/webhooks/\(hook.id)/rotate-secret", headers: [keyHeader]).errorCode
                == "PERMISSION_DENIED")
        let writer = try client.createKey(owner, mode: "full", permissions: ["webhooks:read", "webhooks:write"])
        #expect(try Hooks.create(client, ("X-API-Key", writer.secret), url: "https://example.com/d").status == 201)
        #expect(try count(owner) == 2)
    }

    @Test func anotherTenantsEndpointDoesNotExistForYou() throws {
        let stranger = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "https://example.com/a")
        for (method, path) in [("GET", "/v1/webhooks/\(hook.id)"), ("PATCH", "/v1/webhooks/\(hook.id)"),
                               ("DELETE", "/v1/webhooks/\(hook.id)"), ("POST", "/v1/webhooks/\(hook.id)/rotate-secret"),
                               ("GET", "/v1/webhooks/\(hook.id)/deliveries")] {
            let response = try client.request(method, path, headers: [stranger.bearer],
                                              body: method == "PATCH" ? #"{"active":false}"# : nil)
            #expect(response.status == 404, "\(method) \(path)")
            #expect(response.errorCode == "NOT_FOUND")
        }
        // Header and query disagreeing is a 400 before the row is looked at (a Schemathesis finding:
        // the document now lists it for every call on one row).
        let disagree = try client.request("GET", "/v1/webhooks/\(hook.id)?workspace_id=\(owner.mainWorkspaceID)",
                                          headers: [owner.bearer, ("X-Workspace-ID", "999")])
        #expect(disagree.status == 400)
        #expect(disagree.errorCode == "WORKSPACE_MISMATCH")
        // Naming another (reachable) workspace than the row's is 404 too.
        let second = try client.createWorkspace(owner)
        let mismatch = try client.request("GET", "/v1/webhooks/\(hook.id)", headers: [owner.bearer, ("X-Workspace-ID", String(second))])
        #expect(mismatch.errorCode == "NOT_FOUND")
        #expect(try client.request("GET", "/v1/webhooks", headers: [stranger.bearer]).json["data"] == .array([]))
        let read = try client.request("GET", "/v1/webhooks/\(hook.id)", headers: [owner.bearer])
        #expect(read.json["active"] == .bool(true))
        #expect(read.json["secret_rotated_at"] == .null)
    }

    /// Every spelling of a non-public address is refused at creation (the server here does
    /// not allow private targets).
    @Test(arguments: [
        "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "017700000001", "0x7f.1", "[::1]",
        "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:0:0:1]", "10.0.0.1", "172.16.5.4", "192.168.1.1",
        "169.254.169.254", "[fe80::1]", "[fc00::1]", "[fd12::1]", "100.64.0.1", "0.0.0.0", "0", "224.0.0.1",
        "[ff02::1]", "255.255.255.255", "localhost", "LOCALHOST", "foo.localhost", "[::]", "[64:ff9b::7f00:1]",
    ])
    func nonPublicTargetsAreRefusedAtCreation(host: String) throws {
        let response = try Hooks.create(client, owner.bearer, url: "http://\(host):8080/hook")
        #expect(response.status == 400)
        #expect(response.errorCode == "VALIDATION_FAILED")
        #expect(response.json["error"]?["details"]?.arrayValue?.first?["field"]?.stringValue == "url")
        #expect(try count(owner) == 0)
    }

    @Test func aPublicTargetIsAccepted() throws {
        for url in ["https://example.com/hook", "http://93.184.216.34:8080/x?y=1", "https://[2606:4700::1111]/"] {
            #expect(try Hooks.create(client, owner.bearer, url: url).status == 201, "\(url)")
        }
    }
}

/// The guard again at connect time: a DNS name that resolves to loopback passes creation (it is
/// a name) and is refused after resolution, before any connection.
@Suite("Webhook SSRF at connect time")
struct WebhookConnectGuardTests {
    /// A name from /etc/hosts (other than localhost) that resolves to a loopback address.
    static let loopbackName: String? = {
        guard let hosts = try? String(contentsOfFile: "/etc/hosts", encoding: .utf8) else { return nil }
        for line in hosts.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard parts.count >= 2, parts[0].hasPrefix("127.") else { continue }
            if let name = parts.dropFirst().first(where: { $0 != "localhost" && !$0.hasSuffix(".localhost") && !$0.contains(":") }) {
                return name
            }
        }
        return nil
    }()

    @Test(.enabled(if: loopbackName != nil, "no loopback name in /etc/hosts"))
    func aNameResolvingToLoopbackIsRefusedBeforeConnecting() throws {
        let name = try #require(Self.loopbackName)
        let receiver = try WebhookReceiver()
        let server = try TestServer(["--webhook-retry-base-ms", "50"])
        let client = try server.client()
        let owner = try client.signUp()
        let hook = try Hooks.endpoint(client, owner.bearer, url: "http://\(name):\(receiver.port)/")
        _ = try Hooks.createRecord(client, owner.bearer)
        let rows = try Hooks.waitForDeliveries(client, owner.bearer, hook.id) { $0.count >= 2 }
        let first = try #require(rows.last)
        #expect(first["status"]?.stringValue == "failed")
        #expect(first["error"]?.stringValue?.contains("forbidden") == true)
        #expect(receiver.requests.isEmpty)
        let metrics = try client.request("GET", "/metrics").text
        #expect(!metrics.contains(#"atrium_webhook_deliveries_total{outcome="forbidden_address"} 0"#))
        _ = server.stop()
    }
}
