import Foundation
import Glibc
import Testing
@testable import AtriumHTTP

/// A handler that answers through its responder, as the API's write endpoints do: later,
/// from another thread, never, or twice.
private struct ResponderHandler: HTTPHandler {
    enum Behaviour: Sendable { case later, dropped, twice }
    let behaviour: Behaviour

    func handle(_ request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        HTTPResponse(status: 500)
    }

    func handle(_ request: HTTPRequest, context: RequestContext, responder: HTTPResponder) {
        switch behaviour {
        case .later:
            Thread {
                usleep(50_000)
                responder.respond(HTTPResponse(status: 202, body: Array("later".utf8), contentType: "text/plain"))
            }.start()
        case .dropped:
            break
        case .twice:
            responder.respond(HTTPResponse(status: 200, body: Array("first".utf8), contentType: "text/plain"))
            responder.respond(HTTPResponse(status: 201, body: Array("second".utf8), contentType: "text/plain"))
        }
    }
}

/// A blocking client on one keep-alive connection, enough to read Content-Length answers.
private final class Client {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    /// Sends a GET and returns the status line's code and the body.
    func get(_ path: String) throws -> (status: Int, body: String) {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        while true {
            if let end = headEnd() {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                let status = Int(lines[0].split(separator: " ")[1]) ?? 0
                let length = lines.dropFirst().compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
                while buffer.count < end + 4 + length { try fill() }
                let body = String(decoding: buffer[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                buffer.removeFirst(end + 4 + length)
                return (status, body)
            }
            try fill()
        }
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw POSIXError(.ECONNRESET) }
        buffer.append(contentsOf: chunk[..<count])
    }
}

@Suite struct HTTPResponderTests {
    private func withServer(_ body: (Int) throws -> Void) throws {
        var builder = RouterBuilder()
        builder.add(Route(method: .get, template: "/later", handler: ResponderHandler(behaviour: .later)))
        builder.add(Route(method: .get, template: "/dropped", handler: ResponderHandler(behaviour: .dropped)))
        builder.add(Route(method: .get, template: "/twice", handler: ResponderHandler(behaviour: .twice)))
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.eventLoopCount = 1
        configuration.workerThreadCount = 2
        configuration.accessLog = false
        let server = try HTTPServer(configuration: configuration, router: builder.build()) { code, _, _ in
            Array("{\"status\":\(code.status),\"code\":\"\(code.name)\"}".utf8)
        }
        defer { server.shutdown() }
        try body(server.port)
    }

    @Test func anAnswerFromAnotherThreadReachesTheConnection() throws {
        try withServer { port in
            let client = try Client(port: port)
            let answer = try client.get("/later")
            #expect(answer.status == 202)
            #expect(answer.body == "later")
        }
    }

    @Test func aDroppedResponderAnswers500AndTheConnectionGoesOn() throws {
        try withServer { port in
            let client = try Client(port: port)
            let dropped = try client.get("/dropped")
            #expect(dropped.status == 500)
            #expect(dropped.body.contains("\"code\":\"INTERNAL\""))
            let next = try client.get("/later")
            #expect(next.status == 202)
        }
    }

    @Test func onlyTheFirstAnswerIsSent() throws {
        try withServer { port in
            let client = try Client(port: port)
            let first = try client.get("/twice")
            #expect(first.status == 200)
            #expect(first.body == "first")
            // The second answer must not be taken for the next request's.
            let next = try client.get("/later")
            #expect(next.status == 202)
            #expect(next.body == "later")
        }
    }
}
