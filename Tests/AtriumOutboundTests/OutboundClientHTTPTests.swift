import AtriumTestSupport
import Foundation
import Testing
@testable import AtriumOutbound

/// The client against a plain-HTTP receiver on 127.0.0.1 (never any other address).
@Suite struct OutboundClientHTTPTests {
    static func client(allowPrivate: Bool = true, timeout: Double = 5) throws -> OutboundClient {
        var configuration = OutboundClientConfiguration()
        configuration.allowPrivateAddresses = allowPrivate
        configuration.timeoutSeconds = timeout
        return try OutboundClient(configuration: configuration)
    }

    static func request(_ text: String, headers: [(String, String)] = [], body: String = "") throws -> OutboundRequest {
        OutboundRequest(url: try #require(WebhookURL.parse(text)), headers: headers, body: Array(body.utf8))
    }

    @Test func receiverGetsExactRequestBytes() throws {
        let receiver = try TestReceiver(response: Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8))
        let request = try Self.request(
            "http://127.0.0.1:\(receiver.port)/hooks/in?x=1",
            headers: [("Content-Type", "application/json"), ("webhook-id", "evt_1"),
                      ("Host", "evil.example"), ("Content-Length", "999"), ("Connection", "keep-alive"),
                      ("Transfer-Encoding", "chunked")],
            body: #"{"a":1}"#)
        let response = try Self.client().send(request).get()
        #expect(response.status == 200)
        let expected = "POST /hooks/in?x=1 HTTP/1.1\r\nHost: 127.0.0.1:\(receiver.port)\r\n"
            + "Content-Type: application/json\r\nwebhook-id: evt_1\r\n"
            + "Content-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}"
        #expect(String(decoding: receiver.receivedRequest(), as: UTF8.self) == expected)
    }

    struct ResponseCase: Sendable, CustomTestStringConvertible {
        let name: String
        let raw: String
        let status: Int
        let body: String
        var header: (String, String)? = nil
        var testDescription: String { name }
    }

    static let responseCases: [ResponseCase] = [
        ResponseCase(name: "200 with Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                     status: 200, body: "hello"),
        ResponseCase(name: "410 Gone", raw: "HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone", status: 410, body: "gone"),
        ResponseCase(name: "503 with Retry-After", raw: "HTTP/1.1 503 Service Unavailable\r\nretry-after: 120\r\nContent-Length: 0\r\n\r\n",
                     status: 503, body: "", header: ("Retry-After", "120")),
        ResponseCase(name: "chunked with extension and trailer",
                     raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
                     status: 200, body: "hello world"),
        ResponseCase(name: "body read to EOF", raw: "HTTP/1.0 200 OK\r\nX-A: b\r\n\r\nuntil close", status: 200,
                     body: "until close", header: ("x-a", "b")),
        ResponseCase(name: "100 Continue then 204", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                     status: 204, body: ""),
        ResponseCase(name: "redirect is not followed", raw: "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n",
                     status: 302, body: "", header: ("Location", "http://169.254.169.254/")),
        ResponseCase(name: "bare LF line endings", raw: "HTTP/1.1 201 Created\nContent-Length: 2\n\nok", status: 201, body: "ok"),
        ResponseCase(name: "status line without reason", raw: "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"),
    ]

    @Test(arguments: responseCases)
    func parsesResponse(_ testCase: ResponseCase) throws {
        let receiver = try TestReceiver(response: Array(testCase.raw.utf8))
        let response = try Self.client().send(try Self.request("http://127.0.0.1:\(receiver.port)/")).get()
        #expect(response.status == testCase.status)
        #expect(String(decoding: response.body, as: UTF8.self) == testCase.body)
        if let (name, value) = testCase.header {
            #expect(response.header(name) == value)
        }
    }

    @Test(arguments: [
        "garbage\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "HTTP/1.1 200 OK\r\n folded: header\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",
        "",
    ])
    func malformedResponseIsProtocolError(raw: String) throws {
        let receiver = try TestReceiver(response: Array(raw.utf8))
        let result = try Self.client().send(try Self.request("http://127.0.0.1:\(receiver.port)/"))
        #expect(throws: OutboundError.self) { try result.get() }
        if case .failure(let error) = result { #expect(error.kind == .protocolError, "\(error)") }
    }

    @Test func bodyIsCappedAt64KiB() throws {
        let body = [UInt8](repeating: UInt8(ascii: "z"), count: 100_000)
        let receiver = try TestReceiver(response: Array("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".utf8) + body)
        let response = try Self.client().send(try Self.request("http://127.0.0.1:\(receiver.port)/")).get()
        #expect(response.body.count == 64 * 1024)
        #expect(response.body.allSatisfy { $0 == UInt8(ascii: "z") })
    }

    @Test func receiverThatNeverAnswersTimesOut() throws {
        let receiver = try TestReceiver(response: nil)
        let started = Date()
        let result = try Self.client(timeout: 1).send(try Self.request("http://127.0.0.1:\(receiver.port)/", body: "{}"))
        let elapsed = Date().timeIntervalSince(started)
        guard case .failure(let error) = result else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        #expect(error.kind == .timeout)
        #expect(elapsed >= 0.9 && elapsed < 3, "took \(elapsed) s")
        #expect(receiver.receivedRequest().count > 0, "the request was sent before waiting")
    }

    @Test func refusedPortIsConnectFailed() throws {
        let port: Int
        do { let listener = try Listener(); port = listener.port }  // closed again: nothing listens
        let result = try Self.client().send(try Self.request("http://127.0.0.1:\(port)/"))
        guard case .failure(let error) = result else { Issue.record("expected failure"); return }
        #expect(error.kind == .connectFailed)
    }

    @Test(arguments: ["http://127.0.0.1:PORT/", "http://localhost:PORT/", "http://2130706433:PORT/", "http://[::ffff:127.0.0.1]:PORT/"])
    func loopbackRefusedBeforeConnecting(template: String) throws {
        let listener = try Listener()
        let url = template.replacingOccurrences(of: "PORT", with: "\(listener.port)")
        let result = try Self.client(allowPrivate: false).send(try Self.request(url))
        guard case .failure(let error) = result else { Issue.record("expected forbiddenAddress for \(url)"); return }
        #expect(error.kind == .forbiddenAddress, "\(error)")
        #expect(!listener.hasPendingConnection(milliseconds: 100), "no connection may be made")
    }

    /// Resolution runs inside the attempt's deadline (getaddrinfo_a): an unknown name fails as
    /// a DNS error (or, with a resolver that hangs, a timeout), never past the attempt's budget.
    @Test func anUnresolvableNameFailsWithinTheDeadline() throws {
        let started = Date()
        let result = try Self.client(timeout: 3).send(try Self.request("http://atrium-test.invalid/"))
        guard case .failure(let error) = result else { Issue.record("expected failure"); return }
        #expect(error.kind == .dnsFailure || error.kind == .timeout, "\(error)")
        #expect(Date().timeIntervalSince(started) < 6)
    }

    @Test(arguments: [("X-Bad", "a\r\nInjected: 1"), ("Bad Name", "v"), ("", "v")])
    func headerInjectionIsRefused(name: String, value: String) throws {
        let listener = try Listener()
        let result = try Self.client().send(try Self.request("http://127.0.0.1:\(listener.port)/", headers: [(name, value)]))
        guard case .failure(let error) = result else { Issue.record("expected failure"); return }
        #expect(error.kind == .protocolError)
        #expect(!listener.hasPendingConnection())
    }
}
