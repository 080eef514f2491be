import AtriumJSON
import Foundation
import Glibc
import Testing

/// HTTP/1.1 on the wire (server.md "HTTP/1.1", api.md §1): connection management,
/// pipelining, request ids, routing answers and request bodies, seen from a raw socket.
@Suite("HTTPWire")
struct HTTPWireTests {
    // MARK: Connection management

    @Test("keep-alive: several requests are served on one socket")
    func keepAliveReuse() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        let account = try server.client().signUp()
        for index in 0..<5 {
            try socket.send(Wire.request("GET", "/healthz", headers: [("X-Request-ID", "keep-\(index)")]))
            let response = try socket.readResponse()
            #expect(response.status == 200)
            #expect(response.header("X-Request-ID") == "keep-\(index)")
            #expect(response.header("Connection")?.lowercased() != "close")
        }
        // A store-backed request on the same socket too.
        try socket.send(Wire.request("GET", "/v1/me", headers: [account.bearer]))
        let me = try socket.readResponse()
        #expect(me.status == 200)
        #expect(me.json["user"]?["id"]?.int64Value == account.userID)
        try socket.send(Wire.request("GET", "/healthz"))
        #expect(try socket.readResponse().status == 200)
        // Still open: nothing arrives and no EOF within a short wait.
        #expect(!socket.readUntilClose(timeout: 0.5).closed)
    }

    @Test("Connection: close is honoured: the server closes after the response")
    func connectionCloseHonoured() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send(Wire.request("GET", "/healthz", headers: [("Connection", "close")]))
        let response = try socket.readResponse()
        #expect(response.status == 200)
        #expect(response.header("Connection")?.lowercased() == "close")
        let tail = socket.readUntilClose(timeout: 5)
        #expect(tail.closed)
        #expect(tail.bytes.isEmpty)
    }

    @Test("Connection: close on a later request ends a keep-alive connection after that response")
    func connectionCloseAfterKeepAlive() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send(Wire.request("GET", "/healthz"))
        #expect(try socket.readResponse().status == 200)
        try socket.send(Wire.request("GET", "/nope", headers: [("Connection", "close")]))
        let response = try socket.readResponse()
        #expect(response.status == 404)
        #expect(response.errorCode == "NOT_FOUND")
        #expect(socket.readUntilClose(timeout: 5).closed)
    }

    @Test("HTTP/1.0 without keep-alive: the server closes after the response")
    func http10ClosesByDefault() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send("GET /healthz HTTP/1.0\r\n\r\n")
        let response = try socket.readResponse()
        #expect(response.status == 200)
        #expect(response.json["status"]?.stringValue == "ok")
        let tail = socket.readUntilClose(timeout: 5)
        #expect(tail.closed)
        #expect(tail.bytes.isEmpty)
    }

    @Test("HTTP/1.0 with Connection: keep-alive stays open for the next request")
    func http10KeepAliveWhenAsked() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        for index in 0..<3 {
            try socket.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\nX-Request-ID: old-\(index)\r\n\r\n")
            let response = try socket.readResponse()
            #expect(response.status == 200)
            #expect(response.header("X-Request-ID") == "old-\(index)")
            #expect(response.header("Connection")?.lowercased() == "keep-alive")
        }
        #expect(!socket.readUntilClose(timeout: 0.5).closed)
    }

    // MARK: Pipelining

    @Test("pipelining: requests written in one send are answered in order, each with its own X-Request-ID")
    func pipelinedMixAnsweredInOrder() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        let batch = Wire.request("GET", "/healthz")
            + Wire.request("GET", "/v1/me")
            + Wire.request("GET", "/no/such/route")
            + Wire.request("DELETE", "/healthz")
            + Wire.request("GET", "/readyz")
        try socket.send(batch)
        var responses: [WireResponse] = []
        for _ in 0..<5 { responses.append(try socket.readResponse()) }
        #expect(responses.map(\.status) == [200, 401, 404, 405, 200])
        #expect(responses[1].errorCode == "UNAUTHENTICATED")
        #expect(responses[1].header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(responses[2].errorCode == "NOT_FOUND")
        #expect(responses[3].errorCode == "METHOD_NOT_ALLOWED")
        let ids = responses.compactMap { $0.header("X-Request-ID") }
        #expect(ids.count == 5)
        #expect(Set(ids).count == 5, "request ids must be distinct: \(ids)")
        #expect(ids.allSatisfy { Wire.isValidRequestID($0) })
        for response in responses where response.status >= 400 {
            #expect(response.json["error"]?["request_id"]?.stringValue == response.header("X-Request-ID"))
        }
        // The connection is still usable afterwards.
        try socket.send(Wire.request("GET", "/healthz"))
        #expect(try socket.readResponse().status == 200)
    }

    @Test("pipelining: twelve requests with client ids come back in exactly that order")
    func pipelinedOrderWithClientIDs() throws {
        let server = try TestServer()
        let account = try server.client().signUp()
        let socket = try WireSocket(port: server.port)
        var batch = ""
        for index in 0..<12 {
            // Alternate event-loop routes and store-backed routes so completion order may differ.
            switch index % 3 {
            case 0: batch += Wire.request("GET", "/healthz", headers: [("X-Request-ID", "pipe-\(index)")])
            case 1: batch += Wire.request("GET", "/v1/me", headers: [("X-Request-ID", "pipe-\(index)"), account.bearer])
            default: batch += Wire.request("GET", "/v1/me", headers: [("X-Request-ID", "pipe-\(index)")])
            }
        }
        try socket.send(batch)
        for index in 0..<12 {
            let response = try socket.readResponse()
            #expect(response.header("X-Request-ID") == "pipe-\(index)")
            #expect(response.status == [200, 200, 401][index % 3])
        }
    }

    @Test("pipelining: 150 requests, with bodies, in one send are all answered in order")
    func pipelinedManyInOrder() throws {
        let server = try TestServer()
        let account = try server.client().signUp()
        let socket = try WireSocket(port: server.port)
        var batch = ""
        var expected: [Int] = []
        for index in 0..<150 {
            let id = [("X-Request-ID", "many-\(index)")]
            switch index % 5 {
            case 0:
                batch += Wire.request("GET", "/healthz", headers: id)
                expected.append(200)
            case 1:
                batch += Wire.request("GET", "/v1/me", headers: id + [account.bearer])
                expected.append(200)
            case 2:
                batch += Wire.request("POST", "/v1/auth/login", headers: id,
                                      body: #"{"email":"\#(account.email)","password":"\#(account.password)"}"#)
                expected.append(200)
            case 3:
                batch += Wire.request("POST", "/v1/auth/signup", headers: id, body: "{not json")
                expected.append(400)
            default:
                batch += Wire.request("GET", "/missing-\(index)", headers: id)
                expected.append(404)
            }
        }
        try socket.send(batch)
        for index in 0..<150 {
            let response = try socket.readResponse()
            #expect(response.header("X-Request-ID") == "many-\(index)")
            #expect(response.status == expected[index], "request \(index)")
        }
        #expect(!socket.readUntilClose(timeout: 0.3).closed)
    }

    @Test("concurrent connections never see each other's responses")
    func concurrentConnectionsIsolated() throws {
        let server = try TestServer()
        var accounts: [TestAccount] = []
        let client = try server.client()
        for _ in 0..<6 { accounts.append(try client.signUp()) }
        let tokens = accounts.map { ($0.userID, $0.accessToken) }
        let port = server.port
        let problems = Collected<String>()
        runOnThreads(24) { thread in
            let (userID, token) = tokens[thread % tokens.count]
            do {
                let socket = try WireSocket(port: port)
                for round in 0..<15 {
                    let id = "t\(thread)-r\(round)"
                    // Two requests per write, to mix pipelining with concurrency.
                    try socket.send(Wire.request("GET", "/v1/me", headers: [("Authorization", "Bearer \(token)"), ("X-Request-ID", id)])
                        + Wire.request("GET", "/healthz", headers: [("X-Request-ID", id + "-h")]))
                    let me = try socket.readResponse()
                    let health = try socket.readResponse()
                    if me.status != 200 || me.header("X-Request-ID") != id || me.json["user"]?["id"]?.int64Value != userID {
                        problems.append("\(id): \(me.status) \(me.header("X-Request-ID") ?? "-") \(me.response.text.prefix(80))")
                    }
                    if health.status != 200 || health.header("X-Request-ID") != id + "-h" {
                        problems.append("\(id)-h: \(health.status) \(health.header("X-Request-ID") ?? "-")")
                    }
                }
            } catch {
                problems.append("thread \(thread): \(error)")
            }
        }
        #expect(problems.all.isEmpty, "\(problems.all.prefix(5))")
    }

    @Test("HEAD on an unknown route: 404 head without a body, connection still in sync")
    func headNotFoundNoBody() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send(Wire.request("HEAD", "/no-such-thing"))
        let head = try socket.readResponse(headRequest: true)
        #expect(head.status == 404)
        try socket.send(Wire.request("GET", "/healthz", headers: [("X-Request-ID", "after-head-404")]))
        let next = try socket.readResponse()
        #expect(next.statusLine.hasPrefix("HTTP/1.1 200"))
        #expect(next.header("X-Request-ID") == "after-head-404")
    }

    // MARK: X-Request-ID and Date

    @Test("a valid client X-Request-ID is echoed in the header and in error.request_id",
          arguments: ["abc.DEF_123-xyz", "a", String(repeating: "Z9._-", count: 25) + "abc"])
    func validRequestIDEchoed(_ id: String) throws {
        let server = try TestServer()
        let client = try server.client()
        let unauthenticated = try client.request("GET", "/v1/me", headers: [("X-Request-ID", id)])
        #expect(unauthenticated.status == 401)
        #expect(unauthenticated.header("X-Request-ID") == id)
        #expect(unauthenticated.json["error"]?["request_id"]?.stringValue == id)
        let ok = try client.request("GET", "/healthz", headers: [("X-Request-ID", id)])
        #expect(ok.status == 200)
        #expect(ok.header("X-Request-ID") == id)
    }

    @Test("an invalid client X-Request-ID is replaced by a generated one",
          arguments: [String(repeating: "a", count: 129), "has space", "slash/inside", "semi;colon", "quote\"d",
                      "brace{}", "plus+sign", "percent%41"])
    func invalidRequestIDReplaced(_ id: String) throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send(Wire.request("GET", "/no-such-route", headers: [("X-Request-ID", id)]))
        let response = try socket.readResponse()
        #expect(response.status == 404)
        let echoed = response.header("X-Request-ID")
        #expect(echoed != nil)
        #expect(echoed != id)
        #expect(Wire.isValidRequestID(echoed), "generated id \(echoed ?? "nil") must itself be valid")
        #expect(response.json["error"]?["request_id"]?.stringValue == echoed)
    }

    @Test("an empty X-Request-ID is replaced by a generated one")
    func emptyRequestIDReplaced() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send("GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: \r\n\r\n")
        let response = try socket.readResponse()
        #expect(response.status == 401)
        let echoed = response.header("X-Request-ID")
        #expect(Wire.isValidRequestID(echoed))
        #expect(response.json["error"]?["request_id"]?.stringValue == echoed)
    }

    @Test("every response carries a Date header (IMF-fixdate) and an X-Request-ID")
    func everyResponseHasDate() throws {
        let server = try TestServer()
        let client = try server.client()
        let account = try client.signUp()
        var responses: [TestResponse] = []
        responses.append(try client.request("GET", "/healthz"))
        responses.append(try client.request("GET", "/v1/me", headers: [account.bearer]))
        responses.append(try client.request("GET", "/v1/me"))
        responses.append(try client.request("GET", "/nope"))
        responses.append(try client.request("DELETE", "/healthz"))
        responses.append(try client.request("HEAD", "/healthz"))
        responses.append(try client.request("GET", "/metrics"))
        for response in responses {
            #expect(Wire.isIMFFixdate(response.header("Date")), "status \(response.status): Date \(response.header("Date") ?? "missing")")
            #expect(response.header("X-Request-ID") != nil)
        }
        // A framing error answered by the parser too.
        let socket = try WireSocket(port: server.port)
        try socket.send("GET /healthz HTTP/1.1\r\n\r\n")
        let bad = try socket.readResponse()
        #expect(bad.status == 400)
        #expect(Wire.isIMFFixdate(bad.header("Date")))
        #expect(bad.header("X-Request-ID") != nil)
    }

    // MARK: Router answers

    @Test("an unknown path is 404 NOT_FOUND in the error envelope")
    func unknownPath404() throws {
        let server = try TestServer()
        let response = try server.client().request("GET", "/v1/definitely-not-a-route")
        #expect(response.status == 404)
        #expect(response.errorCode == "NOT_FOUND")
        #expect(response.json["success"] == .bool(false))
        #expect(response.json["error"]?["message"]?.stringValue?.isEmpty == false)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
    }

    @Test("a wrong method on a known path is 405 METHOD_NOT_ALLOWED with Allow",
          arguments: ["DELETE", "POST", "PUT", "PATCH"])
    func wrongMethod405(_ method: String) throws {
        let server = try TestServer()
        let response = try server.client().request(method, "/healthz")
        #expect(response.status == 405)
        #expect(response.errorCode == "METHOD_NOT_ALLOWED")
        let allow = response.header("Allow") ?? ""
        let methods = allow.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(methods.contains("GET"), "Allow: \(allow)")
        #expect(!methods.contains(method), "Allow: \(allow)")
    }

    @Test("HEAD /healthz: the GET headers with Content-Length, and no body")
    func headHasNoBody() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send(Wire.request("GET", "/healthz"))
        let get = try socket.readResponse()
        try socket.send(Wire.request("HEAD", "/healthz"))
        let head = try socket.readResponse(headRequest: true)
        #expect(head.status == 200)
        #expect(head.header("Content-Length") != nil)
        #expect(head.header("Content-Length") == get.header("Content-Length"))
        #expect(head.header("Content-Length") == String(get.response.body.count))
        // If HEAD had sent a body, it would be read here instead of the next status line.
        try socket.send(Wire.request("GET", "/healthz", headers: [("X-Request-ID", "after-head")]))
        let next = try socket.readResponse()
        #expect(next.statusLine.hasPrefix("HTTP/1.1 200"))
        #expect(next.header("X-Request-ID") == "after-head")
    }

    @Test("OPTIONS * is answered with 2xx and Allow; * with another method is 400")
    func optionsAsterisk() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let options = try socket.readResponse()
        #expect((200...204).contains(options.status))
        #expect(options.header("Allow")?.contains("GET") == true)
        try socket.send(Wire.request("GET", "/healthz"))
        #expect(try socket.readResponse().status == 200)

        let other = try WireSocket(port: server.port)
        try other.send("GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let bad = try other.readResponse()
        #expect(bad.status == 400)
        #expect(bad.errorCode == "BAD_REQUEST")
    }

    @Test("TRACE is 405 METHOD_NOT_ALLOWED and never echoes the request")
    func traceRejected() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send("TRACE /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Secret-Echo: hunter2\r\n\r\n")
        let response = try socket.readResponse()
        #expect(response.status == 405)
        #expect(response.errorCode == "METHOD_NOT_ALLOWED")
        #expect(response.header("Allow")?.contains("TRACE") == false)
        #expect(!response.response.text.contains("hunter2"))
    }

    @Test("CONNECT is 501 NOT_IMPLEMENTED")
    func connectNotImplemented() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send("CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n")
        let response = try socket.readResponse()
        #expect(response.status == 501)
        #expect(response.errorCode == "NOT_IMPLEMENTED")
        // Nothing was tunnelled: the process still serves others.
        #expect(try server.client().request("GET", "/healthz").status == 200)
    }

    @Test("an absolute-form request target is accepted")
    func absoluteFormAccepted() throws {
        let server = try TestServer()
        let socket = try WireSocket(port: server.port)
        try socket.send("GET http://127.0.0.1:\(server.port)/healthz HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n\r\n")
        let response = try socket.readResponse()
        #expect(response.status == 200)
        #expect(response.json["status"]?.stringValue == "ok")
    }

    // MARK: Request bodies

    @Test("a chunked JSON body (POST /v1/auth/signup) is decoded and the account works")
    func chunkedSignup() throws {
        let server = try TestServer()
        let email = Wire.uniqueEmail("chunked")
        let password = "chunked password 123"
        let body = Array(Wire.signupBody(email: email, password: password).utf8)
        // Three chunks of uneven sizes, one with an extension.
        let cuts = [0, 7, 30, body.count]
        var wire = "POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n"
        for index in 0..<3 {
            let piece = String(decoding: body[cuts[index]..<cuts[index + 1]], as: UTF8.self)
            let size = String(cuts[index + 1] - cuts[index], radix: 16)
            wire += index == 1 ? "\(size);note=x\r\n\(piece)\r\n" : "\(size)\r\n\(piece)\r\n"
        }
        wire += "0\r\n\r\n"
        let socket = try WireSocket(port: server.port)
        try socket.send(wire)
        let response = try socket.readResponse()
        #expect(response.status == 201)
        #expect(response.json["user"]?["email"]?.stringValue == email)
        #expect(response.json["access_token"]?.stringValue != nil)
        // The connection stays usable and the account logs in with the chunked password.
        try socket.send(Wire.request("POST", "/v1/auth/login", body: #"{"email":"\#(email)","password":"\#(password)"}"#))
        let login = try socket.readResponse()
        #expect(login.status == 200)
    }

    @Test("Expect: 100-continue gets HTTP/1.1 100 Continue before the final response")
    func expectContinue() throws {
        let server = try TestServer()
        let email = Wire.uniqueEmail("continue")
        let body = Wire.signupBody(email: email)
        let socket = try WireSocket(port: server.port)
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
        #expect(socket.waitReadable(timeout: 5), "no interim response while the client waits")
        let interim = try socket.readResponse()
        #expect(interim.status == 100)
        #expect(interim.statusLine == "HTTP/1.1 100 Continue")
        try socket.send(body)
        let final = try socket.readResponse()
        #expect(final.status == 201)
        #expect(final.json["user"]?["email"]?.stringValue == email)
    }

    @Test("an unknown Expect value is 417 and the request is not processed")
    func unknownExpectation() throws {
        let server = try TestServer()
        let email = Wire.uniqueEmail("expect")
        let body = Wire.signupBody(email: email)
        let socket = try WireSocket(port: server.port)
        try socket.send("POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nExpect: 200-ok\r\n\r\n\(body)")
        let response = try socket.readResponse()
        #expect(response.status == 417)
        #expect(response.json["error"]?["request_id"]?.stringValue == response.header("X-Request-ID"))
        // Nothing was written: the same email can still sign up.
        let again = try server.client().request("POST", "/v1/auth/signup", body: body)
        #expect(again.status == 201)
    }
}
