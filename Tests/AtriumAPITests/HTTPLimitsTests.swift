import AtriumJSON
import Foundation
import Glibc
import Testing

/// Limits, smuggling defences, timeouts, connection caps and garbage, over real sockets
/// (server.md "HTTP/1.1").
@Suite("HTTPLimits")
struct HTTPLimitsTests {
    static let smuggled = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: smuggled\r\n\r\n"

    /// Sends `payload` (plus a smuggled request behind it), expects exactly one error response
    /// with `status`/`code`, then the connection closed with nothing else answered.
    private func expectRejected(_ payload: String, status: Int, code: String?, port: Int,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let socket = try WireSocket(port: port)
        socket.trySend(Array(payload.utf8) + Array(Self.smuggled.utf8))
        let response = try socket.readResponse()
        #expect(response.status == status, "payload: \(payload.debugDescription)", sourceLocation: sourceLocation)
        if let code {
            #expect(response.errorCode == code, "payload: \(payload.debugDescription)", sourceLocation: sourceLocation)
        }
        #expect(response.json["error"]?["request_id"]?.stringValue == response.header("X-Request-ID"),
                sourceLocation: sourceLocation)
        let tail = socket.readUntilClose(timeout: 8)
        #expect(tail.closed, "connection left open after \(status)", sourceLocation: sourceLocation)
        #expect(Wire.responseCount(in: tail.bytes) == 0,
                "something behind the rejected request was answered: \(tail.text.debugDescription)",
                sourceLocation: sourceLocation)
    }

    // MARK: Size limits

    @Test("a request line over 8 KiB is 414 URI_TOO_LONG, then close")
    func uriTooLong() throws {
        let server = try TestServer()
        let path = "/" + String(repeating: "a", count: 9000)
        try expectRejected("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", status: 414, code: "URI_TOO_LONG", port: server.port)
        // Control: a long but allowed target is routed normally.
        let ok = try server.client().request("GET", "/" + String(repeating: "b", count: 7000))
        #expect(ok.status == 404)
        #expect(ok.errorCode == "NOT_FOUND")
    }

    @Test("a header block over 16 KiB is 431 HEADERS_TOO_LARGE, then close")
    func headersTooLargeBySize() throws {
        let server = try TestServer()
        var head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for index in 0..<20 { head += "X-Pad-\(index): \(String(repeating: "p", count: 1000))\r\n" }
        try expectRejected(head + "\r\n", status: 431, code: "HEADERS_TOO_LARGE", port: server.port)
        // A single oversized field too.
        try expectRejected("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: \(String(repeating: "q", count: 17000))\r\n\r\n",
                           status: 431, code: "HEADERS_TOO_LARGE", port: server.port)
        // Control: 10 KiB of headers is fine.
        var fine = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for index in 0..<10 { fine += "X-Pad-\(index): \(String(repeating: "p", count: 1000))\r\n" }
        let socket = try WireSocket(port: server.port)
        try socket.send(fine + "\r\n")
        #expect(try socket.readResponse().status == 200)
    }

    @Test("101 header fields is 431 HEADERS_TOO_LARGE, then close; 100 are accepted")
    func tooManyHeaderFields() throws {
        let server = try TestServer()
        var head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for index in 0..<100 { head += "X-F\(index): v\r\n" }   // 101 fields with Host
        try expectRejected(head + "\r\n", status: 431, code: "HEADERS_TOO_LARGE", port: server.port)
        // Control: exactly 100 fields (99 with Host) are accepted.
        var fine = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for index in 0..<99 { fine += "X-F\(index): v\r\n" }
        let socket = try WireSocket(port: server.port)
        try socket.send(fine + "\r\n")
        #expect(try socket.readResponse().status == 200)
    }

    @Test("413 PAYLOAD_TOO_LARGE is decided from Content-Length before any body byte is sent")
    func payloadTooLargeBeforeBody() throws {
        let server = try TestServer()
        let email = Wire.uniqueEmail("big")
        let socket = try WireSocket(port: server.port)
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: 2000000\r\n\r\n")
        #expect(socket.waitReadable(timeout: 8), "the server waited for the body instead of answering 413")
        let response = try socket.readResponse()
        #expect(response.status == 413)
        #expect(response.errorCode == "PAYLOAD_TOO_LARGE")
        #expect(socket.readUntilClose(timeout: 8).closed)
        // Nothing was written.
        let login = try server.client().request("POST", "/v1/auth/login",
                                                body: #"{"email":"\#(email)","password":"correct horse battery"}"#)
        #expect(login.status == 401)
    }

    @Test("a chunked body growing past the body limit is 413 PAYLOAD_TOO_LARGE")
    func chunkedTooLarge() throws {
        let server = try TestServer(["--max-body-bytes", "2048"])
        let socket = try WireSocket(port: server.port)
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n1000\r\n")
        #expect(socket.waitReadable(timeout: 8))
        let response = try socket.readResponse()
        #expect(response.status == 413)
        #expect(response.errorCode == "PAYLOAD_TOO_LARGE")
        #expect(socket.readUntilClose(timeout: 8).closed)
    }

    // MARK: Smuggling and malformed framing

    struct Malformed: CustomTestStringConvertible, Sendable {
        let name: String
        let payload: String
        let status: Int
        let code: String?
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(name: "Content-Length with Transfer-Encoding",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "Transfer-Encoding with Content-Length (reversed order)",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "two different Content-Length fields",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "two identical Content-Length fields",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "a Content-Length list",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Content-Length: 2, 2\r\n\r\n{}",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "Content-Length with a sign",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Content-Length: +2\r\n\r\n{}",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "Transfer-Encoding: gzip, chunked",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                  status: 501, code: "NOT_IMPLEMENTED"),
        Malformed(name: "Transfer-Encoding: chunked, chunked",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
                  status: 501, code: "NOT_IMPLEMENTED"),
        Malformed(name: "smuggling: Transfer-Encoding whose final coding is not chunked (chunked, gzip)",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "Transfer-Encoding: identity",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: identity\r\n\r\n{}",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "a method longer than any served",
                  payload: "PROPFIND /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "a 9000-byte method (400, not 414)",
                  payload: String(repeating: "G", count: 9000) + " /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "Transfer-Encoding on HTTP/1.0",
                  payload: "POST /v1/auth/signup HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "obs-fold continuation line",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Folded: first\r\n second\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "space between field name and colon",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Spaced : value\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "space before colon on Content-Length",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Content-Length : 2\r\n\r\n{}",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "NUL in a header value",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Nul: a\u{0}b\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "control character in a header value",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ctl: a\u{1}b\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "control character in the request line",
                  payload: "GET /heal\u{1}thz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "bare CR in a header value",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Cr: a\rb\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "DEL in a header value",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Del: a\u{7F}b\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "NUL in a header name",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-N\u{0}ul: v\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "whitespace before the first field line",
                  payload: "GET /healthz HTTP/1.1\r\n Host: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "field line without a colon",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "two spaces in the request line",
                  payload: "GET  /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "lower-case protocol name",
                  payload: "GET /healthz http/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "NUL in the request target",
                  payload: "GET /healthz\u{0} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "negative Content-Length",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Content-Length: -1\r\n\r\n{}",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "Content-Length that is not a number",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Content-Length: 0x10\r\n\r\n{}",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "chunk size with a sign",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "chunk data longer than its size",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "missing Host on HTTP/1.1",
                  payload: "GET /healthz HTTP/1.1\r\nX-Other: 1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "two Host fields",
                  payload: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: example.com\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "invalid method token",
                  payload: "GE(T /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "invalid request target",
                  payload: "GET healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "bad chunk size",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "chunk size overflowing 64 bits",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked\r\n\r\n1000000000000000000000002\r\n{}\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
        Malformed(name: "chunk extension over 4 KiB",
                  payload: "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + "Transfer-Encoding: chunked\r\n\r\n2;ext=\(String(repeating: "e", count: 5000))\r\n{}\r\n0\r\n\r\n",
                  status: 400, code: "BAD_REQUEST"),
    ]

    @Test("smuggling and malformed framing: rejected, connection closed, nothing behind it answered",
          arguments: HTTPLimitsTests.malformed)
    func malformedRejected(_ case_: Malformed) throws {
        let server = try TestServer()
        try expectRejected(case_.payload, status: case_.status, code: case_.code, port: server.port)
        // The process is unaffected.
        #expect(try server.client().request("GET", "/healthz").status == 200)
    }

    @Test("CL+TE smuggling: the request hidden behind the body is never processed")
    func smuggledSignupNeverProcessed() throws {
        let server = try TestServer()
        let email = Wire.uniqueEmail("smuggled")
        let hidden = Wire.request("POST", "/v1/auth/signup", body: Wire.signupBody(email: email))
        let socket = try WireSocket(port: server.port)
        socket.trySend("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(5 + hidden.utf8.count)\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden)
        let response = try socket.readResponse()
        #expect(response.status == 400)
        #expect(response.errorCode == "BAD_REQUEST")
        let tail = socket.readUntilClose(timeout: 8)
        #expect(tail.closed)
        #expect(Wire.responseCount(in: tail.bytes) == 0)
        // The hidden signup never happened: the email is still free.
        let signup = try server.client().request("POST", "/v1/auth/signup", body: Wire.signupBody(email: email))
        #expect(signup.status == 201)
    }

    @Test("a Content-Length too large for 64 bits is refused (400 or 413) without harm")
    func contentLengthOverflow() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        socket.trySend("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: 99999999999999999999999999\r\n\r\n{}" + Self.smuggled)
        let response = try socket.readResponse()
        #expect(response.status == 400 || response.status == 413)
        #expect(response.errorCode == (response.status == 400 ? "BAD_REQUEST" : "PAYLOAD_TOO_LARGE"))
        let tail = socket.readUntilClose(timeout: 8)
        #expect(tail.closed)
        #expect(Wire.responseCount(in: tail.bytes) == 0)
        #expect(try server.client().request("GET", "/healthz").status == 200)
    }

    @Test("Expect: 100-continue with a too-large Content-Length: 413 and no 100 Continue")
    func expectContinueTooLarge() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n")
        #expect(socket.waitReadable(timeout: 8))
        let response = try socket.readResponse()
        #expect(response.status == 413, "got \(response.statusLine)")
        #expect(response.errorCode == "PAYLOAD_TOO_LARGE")
        #expect(socket.readUntilClose(timeout: 8).closed)
    }

    @Test("lenient but valid framing is accepted: lower-case chunked, trailers, HTAB in a value, empty chunk extension value")
    func validFramingAccepted() throws {
        let server = try TestServer()
        let email = Wire.uniqueEmail("framing")
        let body = Wire.signupBody(email: email)
        let size = String(body.utf8.count, radix: 16, uppercase: true)
        let socket = try WireSocket(port: server.port)
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json; charset=utf-8\r\n"
            + "X-Tabbed:\tvalue\twith tabs\t\r\ntransfer-encoding: Chunked\r\n\r\n"
            + "\(size);name=\"quoted\"\r\n\(body)\r\n0\r\nX-Trailer: done\r\n\r\n")
        let response = try socket.readResponse()
        #expect(response.status == 201)
        #expect(response.json["user"]?["email"]?.stringValue == email)
        try socket.send(Wire.request("GET", "/healthz", headers: [("X-Request-ID", "after-trailer")]))
        let next = try socket.readResponse()
        #expect(next.status == 200)
        #expect(next.header("X-Request-ID") == "after-trailer")
    }

    @Test("a body of exactly the limit is accepted; one byte more is 413")
    func bodyLimitBoundary() throws {
        let server = try TestServer()
        let limit = 1 << 20
        func body(email: String, size: Int) -> String {
            let prefix = #"{"email":"\#(email)","password":"correct horse battery","name":"Big","pad":""#
            let suffix = #""}"#
            return prefix + String(repeating: "x", count: size - prefix.utf8.count - suffix.utf8.count) + suffix
        }
        let atLimit = Wire.uniqueEmail("limit")
        let okBody = body(email: atLimit, size: limit)
        #expect(okBody.utf8.count == limit)
        let ok = try server.client().request("POST", "/v1/auth/signup", body: okBody)
        #expect(ok.status == 201, "a body of exactly \(limit) bytes: \(ok.status) \(ok.errorCode ?? "")")

        let over = Wire.uniqueEmail("over")
        let overBody = body(email: over, size: limit + 1)
        let socket = try WireSocket(port: server.port)
        socket.trySend(Wire.request("POST", "/v1/auth/signup", body: overBody))
        let response = try socket.readResponse()
        #expect(response.status == 413)
        #expect(response.errorCode == "PAYLOAD_TOO_LARGE")
        let login = try server.client().request("POST", "/v1/auth/login",
                                                body: #"{"email":"\#(over)","password":"correct horse battery"}"#)
        #expect(login.status == 401)
    }

    @Test("a slow reader: thousands of pipelined requests are all answered, in order, once it reads")
    func slowReaderBackpressure() throws {
        let server = try TestServer()
        let account = try server.client().signUp()
        let socket = try WireSocket(port: server.port, receiveTimeout: 20)
        let count = 3000
        var batch: [UInt8] = []
        for index in 0..<count {
            let headers = [("X-Request-ID", "slow-\(index)")] + (index % 4 == 1 ? [account.bearer] : [])
            batch += Array(Wire.request("GET", index % 4 == 1 ? "/v1/me" : "/healthz", headers: headers).utf8)
        }
        let fd = socket.fd
        let sent = Collected<Bool>()
        let group = DispatchGroup()
        group.enter()
        let payload = batch
        Thread.detachNewThread {
            var offset = 0
            while offset < payload.count {
                let n = payload[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                offset += n
            }
            sent.append(offset == payload.count)
            group.leave()
        }
        usleep(700_000)  // not reading yet: the server's writes back up
        var inOrder = 0
        for index in 0..<count {
            guard let response = try? socket.readResponse() else { break }
            if response.header("X-Request-ID") == "slow-\(index)" && response.status == 200 { inOrder += 1 }
        }
        group.wait()
        #expect(sent.all == [true])
        #expect(inOrder == count)
    }

    @Test("body timeout is for the whole body: a chunked body trickled a byte a second gets 408")
    func chunkedBodyTrickleTimesOut() throws {
        let server = try TestServer(["--body-timeout", "2"])
        let socket = try WireSocket(port: server.port)
        let started = Date()
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n")
        let body = Array("1\r\n{\r\n1\r\n\"\r\n1\r\ne\r\n1\r\nm\r\n1\r\na\r\n1\r\ni\r\n1\r\nl\r\n1\r\n\"\r\n".utf8)
        var sent = 0
        while sent < body.count && Date().timeIntervalSince(started) < 15 {
            if !socket.trySend([body[sent]]) { break }
            sent += 1
            if socket.waitReadable(timeout: 1) { break }
        }
        #expect(sent < body.count, "the whole trickled body was accepted without a timeout")
        let response = try socket.readResponse()
        #expect(response.status == 408)
        #expect(response.errorCode == "REQUEST_TIMEOUT")
        #expect(socket.readUntilClose(timeout: 8).closed)
        #expect(Date().timeIntervalSince(started) < 8)
    }

    @Test("slowloris on a kept-alive connection: the second head trickling in gets 408")
    func slowSecondHead() throws {
        let server = try TestServer(["--header-timeout", "2"])
        let socket = try WireSocket(port: server.port)
        try socket.send(Wire.request("GET", "/healthz"))
        #expect(try socket.readResponse().status == 200)
        let head = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: \(String(repeating: "s", count: 30))\r\n\r\n".utf8)
        let started = Date()
        var sent = 0
        while sent < head.count && Date().timeIntervalSince(started) < 12 {
            if !socket.trySend([head[sent]]) { break }
            sent += 1
            if socket.waitReadable(timeout: 1) { break }
        }
        #expect(sent < head.count)
        let response = try socket.readResponse()
        #expect(response.status == 408)
        #expect(response.errorCode == "REQUEST_TIMEOUT")
        #expect(socket.readUntilClose(timeout: 8).closed)
        #expect(Date().timeIntervalSince(started) < 8)
    }

    @Test("a body trickling in byte by byte within the timeout is served")
    func bodyInManyPieces() throws {
        let server = try TestServer()
        let email = Wire.uniqueEmail("trickle")
        let request = Array(Wire.request("POST", "/v1/auth/signup", body: Wire.signupBody(email: email)).utf8)
        let socket = try WireSocket(port: server.port)
        for byte in request {
            try socket.send([byte])
        }
        let response = try socket.readResponse()
        #expect(response.status == 201)
        #expect(response.json["user"]?["email"]?.stringValue == email)
    }

    // MARK: Timeouts

    @Test("slowloris: a head sent one byte per second gets 408 and close; others are served meanwhile")
    func slowlorisHeaderTimeout() throws {
        let server = try TestServer(["--header-timeout", "2"])
        let slow = try WireSocket(port: server.port)
        let head = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: \(String(repeating: "s", count: 40))\r\n\r\n".utf8)
        let started = Date()
        var sent = 0
        var servedMeanwhile = 0
        while sent < head.count && Date().timeIntervalSince(started) < 12 {
            if !slow.trySend([head[sent]]) { break }
            sent += 1
            // Another connection is served normally while the slow one trickles (the first two
            // bytes go out at about 0 s and 1 s, well inside the 2 s timeout; the third may race it).
            if sent <= 2 {
                let other = try server.client()
                if try other.request("GET", "/healthz").status == 200 { servedMeanwhile += 1 }
            }
            if slow.waitReadable(timeout: 1) { break }
        }
        #expect(sent < head.count, "the whole head trickled in without a timeout")
        let response = try slow.readResponse()
        #expect(response.status == 408)
        #expect(response.errorCode == "REQUEST_TIMEOUT")
        let tail = slow.readUntilClose(timeout: 8)
        let elapsed = Date().timeIntervalSince(started)
        #expect(tail.closed)
        #expect(elapsed < 8, "408 and close took \(elapsed) s with --header-timeout 2")
        #expect(servedMeanwhile == 2)
        #expect(try server.client().request("GET", "/healthz").status == 200)
    }

    @Test("slowloris of complete header lines: a line every 500 ms, never the blank line, gets 408 at the header timeout")
    func slowlorisCompleteHeaderLines() throws {
        // The idle timeout is far away: only the header timeout, counted from the head's first
        // byte, can end this head (before, whole lines were not timed at all).
        let server = try TestServer(["--header-timeout", "2", "--idle-timeout", "30"])
        let slow = try WireSocket(port: server.port)
        let started = Date()
        try slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        var lines = 0
        while Date().timeIntervalSince(started) < 12 {
            if slow.waitReadable(timeout: 0.5) { break }
            if !slow.trySend("X-Slow-\(lines): \(lines)\r\n") { break }
            lines += 1
        }
        let response = try slow.readResponse()
        #expect(response.status == 408, "after \(lines) complete header lines")
        #expect(response.errorCode == "REQUEST_TIMEOUT")
        let tail = slow.readUntilClose(timeout: 8)
        let elapsed = Date().timeIntervalSince(started)
        #expect(tail.closed)
        #expect(elapsed < 5, "408 and close took \(elapsed) s with --header-timeout 2")
        #expect(try server.client().request("GET", "/healthz").status == 200)
    }

    @Test("slow body: a Content-Length body a chunk every 500 ms is 408 at the body timeout, counted from the body's start")
    func slowBodyFromItsStart() throws {
        let server = try TestServer(["--header-timeout", "2", "--body-timeout", "3", "--idle-timeout", "30"])
        let socket = try WireSocket(port: server.port)
        // The head itself takes 1.5 s (inside the header timeout), in whole lines.
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        usleep(750_000)
        try socket.send("Content-Type: application/json\r\n")
        usleep(750_000)
        try socket.send("Content-Length: 1000\r\n\r\n")
        let bodyStarted = Date()
        var sent = 0
        while Date().timeIntervalSince(bodyStarted) < 12 {
            if socket.waitReadable(timeout: 0.5) { break }
            if !socket.trySend(" ") { break }
            sent += 1
        }
        let response = try socket.readResponse()
        let elapsed = Date().timeIntervalSince(bodyStarted)
        #expect(response.status == 408, "after \(sent) body bytes")
        #expect(response.errorCode == "REQUEST_TIMEOUT")
        #expect(elapsed >= 2.9, "the body timeout counted from before the body started: \(elapsed) s")
        #expect(elapsed < 6, "408 took \(elapsed) s with --body-timeout 3")
        #expect(socket.readUntilClose(timeout: 8).closed)
    }

    @Test("body timeout: a body that stops arriving gets 408 and close")
    func bodyTimeout() throws {
        let server = try TestServer(["--body-timeout", "2"])
        let socket = try WireSocket(port: server.port)
        let started = Date()
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: 100\r\n\r\n{\"email\":")
        #expect(socket.waitReadable(timeout: 10))
        let response = try socket.readResponse()
        #expect(response.status == 408)
        #expect(response.errorCode == "REQUEST_TIMEOUT")
        let tail = socket.readUntilClose(timeout: 8)
        let elapsed = Date().timeIntervalSince(started)
        #expect(tail.closed)
        #expect(elapsed < 8, "408 and close took \(elapsed) s with --body-timeout 2")
        #expect(try server.client().request("GET", "/healthz").status == 200)
    }

    @Test("idle keep-alive timeout: an idle connection is closed by the server")
    func idleTimeout() throws {
        let server = try TestServer(["--idle-timeout", "1"])
        let socket = try WireSocket(port: server.port)
        try socket.send(Wire.request("GET", "/healthz"))
        #expect(try socket.readResponse().status == 200)
        let started = Date()
        let tail = socket.readUntilClose(timeout: 10)
        let elapsed = Date().timeIntervalSince(started)
        #expect(tail.closed)
        #expect(elapsed < 6, "idle connection closed after \(elapsed) s with --idle-timeout 1")
        // A connection that never sends anything is not kept forever either.
        let silent = try WireSocket(port: server.port)
        #expect(silent.readUntilClose(timeout: 10).closed)
        // New connections work.
        #expect(try server.client().request("GET", "/healthz").status == 200)
    }

    @Test("an active keep-alive connection outlives the idle timeout")
    func activeConnectionNotIdle() throws {
        let server = try TestServer(["--idle-timeout", "2"])
        let socket = try WireSocket(port: server.port)
        for _ in 0..<5 {
            try socket.send(Wire.request("GET", "/healthz"))
            #expect(try socket.readResponse().status == 200)
            usleep(700_000)
        }
    }

    // MARK: Connection cap

    @Test("max connections: beyond the cap a new connection gets 503 UNAVAILABLE and close; freed slots are reused")
    func maxConnections() throws {
        let server = try TestServer(["--max-connections", "3"])
        var open: [WireSocket] = []
        for index in 0..<3 {
            let socket = try WireSocket(port: server.port)
            try socket.send(Wire.request("GET", "/healthz", headers: [("X-Request-ID", "slot-\(index)")]))
            #expect(try socket.readResponse().status == 200)
            open.append(socket)
        }
        let fourth = try WireSocket(port: server.port)
        if !fourth.waitReadable(timeout: 1) {
            fourth.trySend(Wire.request("GET", "/healthz"))
        }
        let refused = try fourth.readResponse()
        #expect(refused.status == 503)
        #expect(refused.errorCode == "UNAVAILABLE")
        #expect(fourth.readUntilClose(timeout: 8).closed)
        // The three admitted connections are unaffected.
        for socket in open {
            try socket.send(Wire.request("GET", "/healthz"))
            #expect(try socket.readResponse().status == 200)
        }
        // Free one slot: a new connection is served again.
        open[0].close()
        open.removeFirst()
        var served = false
        let deadline = Date().addingTimeInterval(5)
        while !served && Date() < deadline {
            if let socket = try? WireSocket(port: server.port),
               socket.trySend(Wire.request("GET", "/healthz")),
               let response = try? socket.readResponse() {
                served = response.status == 200
                if served { open.append(socket) }
            }
            if !served { usleep(100_000) }
        }
        #expect(served, "no new connection was served after one closed")
    }

    // MARK: Isolation and garbage

    @Test("a malformed request on one connection leaves connections opened before and after served")
    func malformedIsolated() throws {
        let server = try TestServer()
        let before = try WireSocket(port: server.port)
        try before.send(Wire.request("GET", "/healthz"))
        #expect(try before.readResponse().status == 200)
        // `before` is half-way through its next head when the bad connection arrives.
        try before.send("GET /healthz HTTP/1.1\r\nHo")
        let bad = try WireSocket(port: server.port)
        try bad.send("THIS IS NOT HTTP\r\n\r\n")
        let rejected = try bad.readResponse()
        #expect(rejected.status == 400)
        #expect(rejected.errorCode == "BAD_REQUEST")
        #expect(bad.readUntilClose(timeout: 8).closed)
        try before.send("st: 127.0.0.1\r\nX-Request-ID: conn-before\r\n\r\n")
        let finished = try before.readResponse()
        #expect(finished.status == 200)
        #expect(finished.header("X-Request-ID") == "conn-before")
        #expect(finished.json["status"]?.stringValue == "ok")
        let after = try WireSocket(port: server.port)
        try after.send(Wire.request("GET", "/v1/me", headers: [("X-Request-ID", "conn-after")]))
        let afterResponse = try after.readResponse()
        #expect(afterResponse.status == 401)
        #expect(afterResponse.header("X-Request-ID") == "conn-after")
    }

    @Test("the process survives garbage on many connections and keeps serving")
    func survivesGarbage() throws {
        let server = try TestServer()
        let account = try server.client().signUp()
        let before = try WireSocket(port: server.port)
        try before.send(Wire.request("GET", "/healthz"))
        #expect(try before.readResponse().status == 200)

        var generator = SystemRandomNumberGenerator()
        func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        var payloads: [[UInt8]] = []
        for size in [1, 17, 512, 4096, 9000] { payloads.append(randomBytes(size)) }
        payloads.append([UInt8](repeating: 0x41, count: 64 * 1024))                   // 64 KiB, no line end
        payloads.append(Array(repeating: Array("junk\r\n".utf8), count: 10_000).flatMap { $0 })
        payloads.append([UInt8](repeating: 0, count: 4096))                          // NULs
        payloads.append([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + randomBytes(500)) // TLS hello
        payloads.append(Array("GET / HTTP/1.1\r\n".utf8) + randomBytes(3000) + Array("\r\n\r\n".utf8))
        payloads.append(Array("POST /v1/auth/signup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
                        + randomBytes(2000))
        payloads.append(Array("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".utf8))
        payloads.append(Array("\r\n\r\n\r\n\r\n".utf8) + randomBytes(100))
        payloads.append(Array("GET /\u{FF}\u{FE} HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        payloads.append(Array(repeating: Array("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8), count: 500).flatMap { $0 })

        var sockets: [WireSocket] = []
        for round in 0..<3 {
            for payload in payloads {
                let socket = try WireSocket(port: server.port, receiveTimeout: 2)
                socket.trySend(round == 2 ? Array(payload.prefix(payload.count / 2)) : payload)
                sockets.append(socket)
            }
        }
        // Whatever came back is an HTTP error response, never a success and never a crash.
        for socket in sockets {
            let tail = socket.readUntilClose(timeout: 0.15)
            let text = tail.text
            if text.hasPrefix("HTTP/1.1 ") {
                let status = Int(text.dropFirst(9).prefix(3)) ?? 0
                #expect(status >= 400, "garbage got \(text.prefix(60).debugDescription)")
                #expect(!text.contains(account.accessToken))
            }
        }
        for socket in sockets { socket.close() }

        #expect(server.process.isRunning)
        try before.send(Wire.request("GET", "/v1/me", headers: [account.bearer]))
        let me = try before.readResponse()
        #expect(me.status == 200)
        #expect(me.json["user"]?["id"]?.int64Value == account.userID)
        let after = try server.client()
        #expect(try after.request("GET", "/healthz").status == 200)
        #expect(try after.request("GET", "/v1/me", headers: [account.bearer]).status == 200)
    }
}
