import AtriumJSON
import AtriumTestSupport
import Foundation
import Glibc
import Testing

/// Helpers for the webhook tests (api.md §6, docs/webhooks.md), in their own namespace.
enum Hooks {
    /// Flags for a server that may deliver to 127.0.0.1 and retries fast (50 ms, 3 s, …).
    static let localFlags = ["--webhook-allow-private", "true", "--webhook-retry-base-ms", "50"]

    /// `POST /v1/webhooks` in the caller's main workspace (or `workspaceID`).
    static func create(_ client: HTTPTestClient, _ header: (String, String), url: String, events: [String] = ["*"],
                       fields: [String]? = nil, workspaceID: Int64? = nil) throws -> TestResponse {
        var body = #"{"url":\#(jsonString(url)),"events":[\#(events.map(jsonString).joined(separator: ","))]"#
        if let fields { body += #","fields":[\#(fields.map(jsonString).joined(separator: ","))]"# }
        body += "}"
        var headers = [header]
        if let workspaceID { headers.append(("X-Workspace-ID", String(workspaceID))) }
        return try client.request("POST", "/v1/webhooks", headers: headers, body: body)
    }

    /// Creates an endpoint and returns its id and secret.
    static func endpoint(_ client: HTTPTestClient, _ header: (String, String), url: String, events: [String] = ["*"],
                         fields: [String]? = nil, workspaceID: Int64? = nil) throws -> (id: Int64, secret: String) {
        let response = try create(client, header, url: url, events: events, fields: fields, workspaceID: workspaceID)
        guard response.status == 201, let id = response.json["id"]?.int64Value,
              let secret = response.json["secret"]?.stringValue else {
            throw TestFailure("create webhook failed: \(response.status) \(response.text)")
        }
        return (id, secret)
    }

    static func deliveries(_ client: HTTPTestClient, _ header: (String, String), _ webhookID: Int64) throws -> [JSONValue] {
        let response = try client.request("GET", "/v1/webhooks/\(webhookID)/deliveries?limit=100", headers: [header])
        guard response.status == 200, let rows = response.json["data"]?.arrayValue else {
            throw TestFailure("deliveries failed: \(response.status) \(response.text)")
        }
        return rows
    }

    /// Polls the delivery log until `done` holds (or `timeout` passes); returns the last rows.
    static func waitForDeliveries(_ client: HTTPTestClient, _ header: (String, String), _ webhookID: Int64,
                                  timeout: Double = 10, until done: ([JSONValue]) -> Bool) throws -> [JSONValue] {
        let deadline = WebhookReceiver.monotonicSeconds() + timeout
        var rows = try deliveries(client, header, webhookID)
        while !done(rows) && WebhookReceiver.monotonicSeconds() < deadline {
            usleep(50_000)
            rows = try deliveries(client, header, webhookID)
        }
        return rows
    }

    static func createRecord(_ client: HTTPTestClient, _ header: (String, String), data: String = #"{"title":"t"}"#,
                             workspaceID: Int64? = nil) throws -> Int64 {
        var headers = [header]
        if let workspaceID { headers.append(("X-Workspace-ID", String(workspaceID))) }
        let response = try client.request("POST", "/v1/collections/items/records", headers: headers,
                                          body: #"{"data":\#(data)}"#)
        guard response.status == 201, let id = response.json["id"]?.int64Value else {
            throw TestFailure("create record failed: \(response.status) \(response.text)")
        }
        return id
    }

    static func json(_ request: ReceivedRequest) -> JSONValue {
        (try? JSONParser.parse(request.body)) ?? .null
    }

    /// Checks the Standard Webhooks headers of `request` against `secrets` with an independent
    /// HMAC (Python's): one `v1,` signature per secret, in order.
    static func expectSigned(_ request: ReceivedRequest, secrets: [String],
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let id = try #require(request.headers["webhook-id"], sourceLocation: sourceLocation)
        let timestamp = try #require(request.headers["webhook-timestamp"], sourceLocation: sourceLocation)
        let signature = try #require(request.headers["webhook-signature"], sourceLocation: sourceLocation)
        let expected = try secrets.map {
            try IndependentSignature.expected(secret: $0, id: id, timestamp: timestamp, body: request.body)
        }
        #expect(signature.split(separator: " ").map(String.init) == expected, sourceLocation: sourceLocation)
        let seconds = try #require(Double(timestamp), sourceLocation: sourceLocation)
        #expect(abs(seconds - Date().timeIntervalSince1970) < 120, sourceLocation: sourceLocation)
    }

    /// Requests sorted by the number in their `webhook-id` (`evt_<n>`), i.e. in event order.
    static func inEventOrder(_ requests: [ReceivedRequest]) -> [ReceivedRequest] {
        func number(_ request: ReceivedRequest) -> Int64 {
            Int64(request.headers["webhook-id"]?.dropFirst(4) ?? "") ?? 0
        }
        return requests.sorted { number($0) < number($1) }
    }

    /// A port on 127.0.0.1 with nothing listening (bound, then released).
    static func closedPort() throws -> Int {
        let listener = try Listener()
        return listener.port
    }
}
