import AtriumTestSupport
import Testing
@testable import AtriumOutbound

/// HTTPS against a libssl receiver on 127.0.0.1 with a CA made at test time.
@Suite(.enabled(if: TestPKI.shared != nil,
                "the openssl command line tool is missing (or certificate generation failed): HTTPS tests skipped"))
struct OutboundClientTLSTests {
    static let ok = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)

    static func client(caFile: String?) throws -> OutboundClient {
        var configuration = OutboundClientConfiguration()
        configuration.allowPrivateAddresses = true
        configuration.timeoutSeconds = 5
        configuration.caFile = caFile
        return try OutboundClient(configuration: configuration)
    }

    static func receiver(wrongName: Bool = false) throws -> TestReceiver {
        let pki = try #require(TestPKI.shared)
        let tls = try ServerTLSContext(
            certificateChain: wrongName ? pki.wrongNameCertificate : pki.serverCertificate,
            privateKey: wrongName ? pki.wrongNameKey : pki.serverKey)
        return try TestReceiver(response: ok, tls: tls)
    }

    @Test(arguments: ["localhost", "127.0.0.1"])
    func succeedsWithTestCA(host: String) throws {
        let pki = try #require(TestPKI.shared)
        let receiver = try Self.receiver()
        let url = try #require(WebhookURL.parse("https://\(host):\(receiver.port)/hook"))
        let response = try Self.client(caFile: pki.caCertificate)
            .send(OutboundRequest(url: url, headers: [("webhook-id", "evt_1")], body: Array("{}".utf8))).get()
        #expect(response.status == 200)
        #expect(response.body == Array("ok".utf8))
        let received = String(decoding: receiver.receivedRequest(), as: UTF8.self)
        #expect(received == "POST /hook HTTP/1.1\r\nHost: \(host):\(receiver.port)\r\nwebhook-id: evt_1\r\n"
            + "Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    }

    @Test func failsWithoutTestCA() throws {
        let receiver = try Self.receiver()
        let url = try #require(WebhookURL.parse("https://localhost:\(receiver.port)/"))
        let result = try Self.client(caFile: nil).send(OutboundRequest(url: url, headers: [], body: []))
        guard case .failure(let error) = result else { Issue.record("untrusted CA accepted"); return }
        #expect(error.kind == .tlsFailure, "\(error)")
        #expect(receiver.receivedRequest().isEmpty, "no request bytes may reach an unverified peer")
    }

    @Test(arguments: ["localhost", "127.0.0.1"])
    func failsWhenCertificateNameDoesNotMatch(host: String) throws {
        let pki = try #require(TestPKI.shared)
        let receiver = try Self.receiver(wrongName: true)
        let url = try #require(WebhookURL.parse("https://\(host):\(receiver.port)/"))
        let result = try Self.client(caFile: pki.caCertificate).send(OutboundRequest(url: url, headers: [], body: []))
        guard case .failure(let error) = result else { Issue.record("wrong-name certificate accepted"); return }
        #expect(error.kind == .tlsFailure, "\(error)")
        #expect(error.detail.contains("mismatch"), "\(error)")
        #expect(receiver.receivedRequest().isEmpty)
    }

    @Test func missingCAFileFailsAtInit() {
        #expect(throws: OutboundError.self) { try Self.client(caFile: "/nonexistent/ca.pem") }
    }
}
