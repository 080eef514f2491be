import AtriumJSON
import AtriumStore
import Testing
@testable import AtriumWebhooks

@Suite struct TargetAndPayloadTests {
    @Test(arguments: [
        "http://127.0.0.1/", "http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/",
        "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://10.0.0.1/",
        "http://172.16.5.4/", "http://192.168.1.1/", "http://169.254.169.254/latest", "http://[fe80::1]/",
        "http://[fc00::1]/", "http://[fd12::1]/", "http://100.64.0.1/", "http://0.0.0.0/", "http://0/",
        "http://224.0.0.1/", "http://[ff02::1]/", "http://255.255.255.255/", "http://localhost:8080/",
        "http://LOCALHOST./", "http://api.localhost/",
    ])
    func nonPublicTargetsAreRefused(_ url: String) {
        #expect(WebhookTargetPolicy.problem(with: url, allowPrivate: false) == WebhookTargetPolicy.forbidden)
        #expect(WebhookTargetPolicy.problem(with: url, allowPrivate: true) == nil)
    }

    @Test(arguments: ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/", "example.com/hook",
                      "https://example.com/#frag", "http://", "https://exa mple.com/"])
    func malformedURLsAreRefused(_ url: String) {
        let problem = WebhookTargetPolicy.problem(with: url, allowPrivate: true)
        #expect(problem != nil && problem != WebhookTargetPolicy.forbidden)
    }

    @Test(arguments: ["https://example.com/hook", "http://93.184.216.34:8080/x?y=1", "https://[2606:4700::1111]/"])
    func publicTargetsPass(_ url: String) {
        #expect(WebhookTargetPolicy.problem(with: url, allowPrivate: false) == nil)
    }

    static let record = OutboxEvent(
        id: 42, workspaceID: 7, type: "record.created",
        data: #"{"id":9,"workspace_id":7,"collection":"items","data":{"title":"t","secret":"s","n":1},"version":1}"#,
        createdAt: 1_795_420_200_123)

    @Test func theBodyHasTheContractShape() throws {
        let body = EventPayload.body(for: Self.record, fields: nil)
        let json = try JSONParser.parse(body)
        #expect(json["id"]?.stringValue == "evt_42")
        #expect(json["type"]?.stringValue == "record.created")
        #expect(json["workspace_id"]?.int64Value == 7)
        #expect(json["created_at"]?.stringValue == "2026-11-23T07:50:00.123Z")
        #expect(json["data"]?["data"]?["secret"]?.stringValue == "s")
    }

    @Test func fieldsNarrowTheRecordsDataOnly() throws {
        let json = try JSONParser.parse(EventPayload.body(for: Self.record, fields: ["title", "absent"]))
        let data = try #require(json["data"])
        #expect(data["id"]?.int64Value == 9)
        #expect(data["collection"]?.stringValue == "items")
        #expect(data["data"]?.objectValue?.keys == ["title"])
    }

    @Test func fieldsLeaveOtherEventsWhole() throws {
        let member = OutboxEvent(id: 1, workspaceID: 7, type: "member.added", data: #"{"user_id":3,"role":"viewer"}"#,
                                 createdAt: 0)
        let json = try JSONParser.parse(EventPayload.body(for: member, fields: ["title"]))
        #expect(json["data"]?["role"]?.stringValue == "viewer")
        #expect(json["data"]?["user_id"]?.int64Value == 3)
    }
}
