import AtriumHTTP
import Testing

/// One input the parser must accept, with what it must produce.
struct ParserAcceptance: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    var limits = HTTPLimits()
    let check: @Sendable ([HTTPRequest]) -> Void

    var testDescription: String { name }
}

private func accept(
    _ name: String, _ text: String, limits: HTTPLimits = HTTPLimits(), _ check: @escaping @Sendable ([HTTPRequest]) -> Void
) -> ParserAcceptance {
    ParserAcceptance(name: name, bytes: Array(text.utf8), limits: limits, check: check)
}

let parserAcceptances: [ParserAcceptance] = [
    accept("GET", "GET /v1/me HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n") { requests in
        #expect(requests.count == 1)
        guard let r = requests.first else { return }
        #expect(r.method == .get)
        #expect(r.version == .http11)
        #expect(r.target == "/v1/me")
        #expect(r.path == "/v1/me")
        #expect(r.query == nil)
        #expect(r.headers.count == 2)
        #expect(r.headers.first("host") == "example.com")
        #expect(r.body.isEmpty)
        #expect(r.keepAlive)
    },
    accept("GET with query and escapes", "GET /a/b%20c?x=1&y=%2F&z=/?q HTTP/1.1\r\nHost: h:8080\r\n\r\n") { requests in
        #expect(requests.first?.path == "/a/b%20c")
        #expect(requests.first?.query == "x=1&y=%2F&z=/?q")
    },
    accept("brackets in the query", "GET /r?filter[kind]=x HTTP/1.1\r\nHost: h\r\n\r\n") { requests in
        #expect(requests[0].path == "/r")
        #expect(requests[0].query == "filter[kind]=x")
    },
    accept("empty query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n") { requests in
        #expect(requests.first?.path == "/a")
        #expect(requests.first?.query == "")
    },
    accept("POST with Content-Length", "POST /v1/records HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\nContent-Type: application/json\r\n\r\n{\"a\":\"hello\"}") { requests in
        #expect(requests.first?.method == .post)
        #expect(requests.first?.body == Array("{\"a\":\"hello\"}".utf8))
    },
    accept("Content-Length zero", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n") { requests in
        #expect(requests.first?.body == [])
    },
    accept("Content-Length with leading zeros", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 002\r\n\r\nok") { requests in
        #expect(requests.first?.body == Array("ok".utf8))
    },
    accept("body of exactly maxBodyBytes", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789",
           limits: .testing { $0.maxBodyBytes = 10 }) { requests in
        #expect(requests.first?.body.count == 10)
    },
    accept(
        "chunked with extensions and trailers",
        "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n"
            + "6 ; a ; b=\"quoted \\\" str\"\r\n world\r\n"
            + "00000A\r\n0123456789\r\n"
            + "0;last\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n"
    ) { requests in
        #expect(requests.first?.body == Array("hello world0123456789".utf8))
        #expect(requests.first?.headers.contains("X-Checksum") == false)
        #expect(requests.first?.headers.count == 2)
    },
    accept("chunked with upper-case hex", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n") { requests in
        #expect(requests.first?.body.count == 10)
    },
    accept("chunked body of exactly maxBodyBytes", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n",
           limits: .testing { $0.maxBodyBytes = 10 }) { requests in
        #expect(requests.first?.body.count == 10)
    },
    accept("absolute-form", "GET http://example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n") { requests in
        #expect(requests.first?.target == "http://example.com:8080/p/q?x=1")
        #expect(requests.first?.path == "/p/q")
        #expect(requests.first?.query == "x=1")
    },
    accept("absolute-form without path", "GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n") { requests in
        #expect(requests.first?.path == "/")
        #expect(requests.first?.query == nil)
    },
    accept("absolute-form with IPv6 host and query only", "GET http://[::1]:80?a HTTP/1.1\r\nHost: [::1]:80\r\n\r\n") { requests in
        #expect(requests.first?.path == "/")
        #expect(requests.first?.query == "a")
    },
    accept("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n") { requests in
        #expect(requests.first?.method == .options)
        #expect(requests.first?.path == "*")
        #expect(requests.first?.target == "*")
    },
    accept("HEAD", "HEAD /healthz HTTP/1.1\r\nHost: h\r\n\r\n") { requests in
        #expect(requests.first?.method == .head)
        #expect(requests.first?.path == "/healthz")
    },
    accept("TRACE is parsed (the router answers 405)", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n") { requests in
        #expect(requests.first?.method == .trace)
    },
    accept("custom method", "PURGE /d HTTP/1.1\r\nHost: h\r\n\r\n") { requests in
        #expect(requests.first?.method.rawValue == "PURGE")
    },
    accept("HTTP/1.0 closes by default", "GET / HTTP/1.0\r\n\r\n") { requests in
        #expect(requests.first?.version == .http10)
        #expect(requests.first?.keepAlive == false)
    },
    accept("HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") { requests in
        #expect(requests.first?.keepAlive == true)
    },
    accept("HTTP/1.1 Connection: close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, CLOSE\r\n\r\n") { requests in
        #expect(requests.first?.keepAlive == false)
    },
    accept("HTTP/1.1 close in a second Connection field", "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n") { requests in
        #expect(requests.first?.keepAlive == false)
    },
    accept("HTTP/1.0 ignores Expect: 100-continue", "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi") { requests in
        #expect(requests.first?.body == Array("hi".utf8))
    },
    accept("pipelined 3 requests in one buffer",
           "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
               + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
               + "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n") { requests in
        #expect(requests.map(\.path) == ["/1", "/2", "/3"])
        #expect(requests.map(\.body) == [[], Array("abc".utf8), Array("x".utf8)])
    },
    accept("empty lines before the request line", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n") { requests in
        #expect(requests.map(\.path) == ["/", "/b"])
    },
    accept("repeated fields survive, names compare case-insensitively, values are OWS-trimmed",
           "GET / HTTP/1.1\r\nHost: h\r\nX-Tag:  one \t\r\nx-tag:two\r\nX-TAG:\r\nAccept: a\r\n\r\n") { requests in
        guard let headers = requests.first?.headers else { return }
        #expect(headers.values("X-Tag") == ["one", "two", ""])
        #expect(headers.count(of: "x-TAG") == 3)
        #expect(headers.first("x-tag") == "one")
        #expect(headers.contains("ACCEPT"))
        #expect(!headers.contains("X-Ta"))
        #expect(headers.first("missing") == nil)
        #expect(headers.map(\.name) == ["Host", "X-Tag", "x-tag", "X-TAG", "Accept"])
    },
    accept("obs-text and tabs inside a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: caf\u{e9}\ta\r\n\r\n") { requests in
        #expect(requests.first?.headers.first("x-a") == "caf\u{e9}\ta")
    },
    accept("empty Host on HTTP/1.1", "GET / HTTP/1.1\r\nHost:\r\n\r\n") { requests in
        #expect(requests.first?.headers.first("Host") == "")
    },
    accept("Expect: 100-continue with the body already here", "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi") { requests in
        #expect(requests.first?.body == Array("hi".utf8))
    },
    accept("header block of exactly maxHeaderBytes and maxHeaderCount", "GET / HTTP/1.1\r\nHost: h\r\nX: 1234\r\n\r\n",
           limits: .testing { $0.maxHeaderBytes = 18; $0.maxHeaderCount = 2 }) { requests in
        #expect(requests.first?.headers.first("x") == "1234")
    },
    accept("request line of exactly maxRequestLineBytes", "GET /ab HTTP/1.1\r\nHost: h\r\n\r\n",
           limits: .testing { $0.maxRequestLineBytes = 16 }) { requests in
        #expect(requests.first?.path == "/ab")
    },
]

@Suite("RequestParser acceptance")
struct RequestParserTests {
    @Test("accepts and decodes", arguments: parserAcceptances)
    func accepts(_ acceptance: ParserAcceptance) {
        let outcome = parseRequests(acceptance.bytes, limits: acceptance.limits)
        #expect(outcome.failure == nil)
        acceptance.check(outcome.requests)
    }

    @Test("identical requests however the bytes are split", arguments: parserAcceptances)
    func splitInvariant(_ acceptance: ParserAcceptance) {
        let whole = parseRequests(acceptance.bytes, limits: acceptance.limits)
        let single = parseRequests(pieces: splitIntoBytes(acceptance.bytes), limits: acceptance.limits)
        #expect(single.sameResult(as: whole), "byte by byte: \(single) vs \(whole)")
        var generator = ParserTestGenerator(seed: 0x5EED &+ UInt64(acceptance.bytes.count))
        for _ in 0..<50 {
            let split = parseRequests(pieces: splitRandomly(acceptance.bytes, using: &generator), limits: acceptance.limits)
            #expect(split.sameResult(as: whole), "random split: \(split) vs \(whole)")
        }
    }

    @Test("every case concatenated and pipelined gives the same requests however split")
    func pipelinedEverything() {
        let cases = parserAcceptances.filter { $0.limits == HTTPLimits() }
        let stream = cases.flatMap(\.bytes)
        let whole = parseRequests(stream)
        #expect(whole.failure == nil)
        #expect(whole.requests.count > cases.count) // some cases hold several requests
        #expect(parseRequests(pieces: splitIntoBytes(stream)).sameResult(as: whole))
        var generator = ParserTestGenerator(seed: 42)
        for _ in 0..<20 {
            #expect(parseRequests(pieces: splitRandomly(stream, using: &generator)).sameResult(as: whole))
        }
    }

    @Test("Expect: 100-continue flow")
    func expectContinueFlow() {
        var parser = RequestParser()
        parser.append(contentsOf: Array("POST /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n".utf8))
        guard case .continueExpected = parser.next() else {
            Issue.record("expected continueExpected")
            return
        }
        #expect(parser.phase == .body)
        guard case .needMoreData = parser.next() else {
            Issue.record("continueExpected must be emitted once")
            return
        }
        parser.append(contentsOf: Array("hel".utf8))
        guard case .needMoreData = parser.next() else {
            Issue.record("no second continueExpected")
            return
        }
        parser.append(contentsOf: Array("lo".utf8))
        guard case .request(let request) = parser.next() else {
            Issue.record("expected the request")
            return
        }
        #expect(request.body == Array("hello".utf8))
        #expect(parser.phase == .idle)
    }

    @Test("Expect: 100-continue with chunked body")
    func expectContinueChunked() {
        let head = "POST /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
        let outcome = parseRequests(pieces: [Array(head.utf8), Array("3\r\nabc\r\n0\r\n\r\n".utf8)])
        #expect(outcome.continues == 1)
        #expect(outcome.requests.first?.body == Array("abc".utf8))
        // No body expected at all: no 100-continue.
        let noBody = parseRequests("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n")
        #expect(noBody.continues == 0)
        #expect(noBody.requests.count == 1)
    }

    @Test("phase follows the request: idle, head, body, idle")
    func phases() {
        var parser = RequestParser()
        #expect(parser.phase == .idle)
        parser.append(contentsOf: Array("POST / HTTP/1.1\r\nHo".utf8))
        _ = parser.next()
        #expect(parser.phase == .head)
        parser.append(contentsOf: Array("st: h\r\nContent-Length: 4\r\n\r\nab".utf8))
        _ = parser.next()
        #expect(parser.phase == .body)
        parser.append(contentsOf: Array("cd".utf8))
        guard case .request = parser.next() else {
            Issue.record("expected the request")
            return
        }
        #expect(parser.phase == .idle)
        #expect(!parser.hasBufferedBytes)
    }

    @Test("no buffer capacity is kept once a request is handed out and nothing is left")
    func releasesCapacity() {
        var parser = RequestParser()
        let one = Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n".utf8) + [UInt8](repeating: 0x61, count: 1000)
        let two = Array("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        parser.append(contentsOf: one + two)
        guard case .request = parser.next() else {
            Issue.record("expected the first request")
            return
        }
        #expect(parser.hasBufferedBytes)
        #expect(parser.bufferedByteCount == two.count)
        #expect(parser.phase == .head)
        guard case .request(let second) = parser.next() else {
            Issue.record("expected the second request")
            return
        }
        #expect(second.path == "/2")
        #expect(!parser.hasBufferedBytes)
        #expect(parser.bufferCapacity == 0)
        guard case .needMoreData = parser.next() else {
            Issue.record("expected needMoreData")
            return
        }
        #expect(parser.bufferCapacity == 0)

        // Byte by byte, including a chunked body, ends with no capacity either.
        for byte in Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n".utf8) {
            parser.append(contentsOf: [byte])
            if case .request = parser.next() { break }
        }
        #expect(parser.bufferCapacity == 0)
        #expect(parser.phase == .idle)
    }

    @Test("unsafe raw buffer appends match array appends")
    func rawBufferAppend() {
        let bytes = Array("GET /raw HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        var parser = RequestParser()
        bytes.withUnsafeBytes { parser.append($0) }
        guard case .request(let request) = parser.next() else {
            Issue.record("expected the request")
            return
        }
        #expect(request.path == "/raw")
    }

    @Test("a long head fed one byte at a time stays linear")
    func byteByByteIsLinear() {
        // 16 KiB of header bytes one at a time: a rescan per byte would be ~130M steps.
        let limits = HTTPLimits.testing { $0.maxHeaderBytes = 64 * 1024 }
        let text = "GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + String(repeating: "v", count: 60_000) + "\r\n\r\n"
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            let outcome = parseRequests(pieces: splitIntoBytes(Array(text.utf8)), limits: limits)
            #expect(outcome.requests.count == 1)
        }
        #expect(elapsed < .seconds(5))
    }

    @Test("HTTPFields built from pairs")
    func fieldsFromPairs() {
        var fields = HTTPFields([("Content-Type", " text/plain "), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
        fields.append(name: "X-A", value: "z")
        #expect(fields.count == 4)
        #expect(fields.first("content-type") == "text/plain")
        #expect(fields.values("SET-COOKIE") == ["a=1", "b=2"])
        #expect(fields.firstValueBytes("x-a") == [0x7A][...])
        #expect(HTTPFields().isEmpty)
    }
}
