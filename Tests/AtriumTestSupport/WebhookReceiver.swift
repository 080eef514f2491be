import COpenSSL
import Foundation
import Glibc
import Synchronization

/// One request a `WebhookReceiver` got.
public struct ReceivedRequest: Sendable {
    public let method: String
    public let path: String
    /// Header names lowercased; a repeated header keeps its last value.
    public let headers: [String: String]
    public let body: [UInt8]
    /// Seconds on the monotonic clock.
    public let receivedAt: Double

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// How a `WebhookReceiver` answers one request.
public struct ReceiverReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    /// Seconds to wait before answering (a slow receiver, or one that makes the sender time out).
    public var delay: Double

    public init(status: Int = 200, headers: [(String, String)] = [], delay: Double = 0) {
        self.status = status
        self.headers = headers
        self.delay = delay
    }
}

/// A webhook receiver on 127.0.0.1 for tests: plain HTTP or TLS, any number of connections
/// (each on its own thread, so a slow answer holds back nothing else), records every request
/// and answers the n-th (0-based) with `reply(n)`.
public final class WebhookReceiver: Sendable {
    public let port: Int
    private let listener: Listener
    private let received = Mutex<[ReceivedRequest]>([])
    private let counter = Mutex<Int>(0)
    private let stopped = Atomic<Bool>(false)

    public init(port: Int = 0, tls: ServerTLSContext? = nil,
                reply: @escaping @Sendable (Int) -> ReceiverReply = { _ in ReceiverReply() }) throws {
        let listener = try Listener(port: port)
        self.listener = listener
        self.port = listener.port
        Thread.detachNewThread { [self] in
            while !stopped.load(ordering: .relaxed) {
                guard let fd = listener.accept(milliseconds: 100) else { continue }
                Thread.detachNewThread { [self] in serve(fd, tls: tls, reply: reply) }
            }
        }
    }

    deinit { stop() }

    /// Stops accepting (connections already accepted are still answered).
    public func stop() { stopped.store(true, ordering: .relaxed) }

    public var requests: [ReceivedRequest] { received.withLock { $0 } }

    /// Waits until at least `count` requests arrived (or `timeout` seconds pass) and returns them all.
    public func waitForRequests(_ count: Int, timeout: Double = 10) -> [ReceivedRequest] {
        let deadline = Self.monotonicSeconds() + timeout
        while Self.monotonicSeconds() < deadline {
            let current = requests
            if current.count >= count { return current }
            usleep(10_000)
        }
        return requests
    }

    private func serve(_ fd: Int32, tls: ServerTLSContext?, reply: @Sendable (Int) -> ReceiverReply) {
        ServerSide.serve(fd, tls: tls) { ssl in answer(fd, ssl: ssl, reply: reply) }
    }

    private func answer(_ fd: Int32, ssl: OpaquePointer?, reply: @Sendable (Int) -> ReceiverReply) {
        let bytes = RequestReading.readRequest(fd: fd, ssl: ssl)
        guard let request = Self.parse(bytes) else { return }
        let index = counter.withLock { value -> Int in
            defer { value += 1 }
            return value
        }
        received.withLock { $0.append(request) }
        let scripted = reply(index)
        if scripted.delay > 0 { usleep(UInt32(scripted.delay * 1_000_000)) }
        var head = "HTTP/1.1 \(scripted.status) Test\r\nContent-Length: 0\r\nConnection: close\r\n"
        for (name, value) in scripted.headers { head += "\(name): \(value)\r\n" }
        ServerSide.write(Array((head + "\r\n").utf8), fd: fd, ssl: ssl)
    }

    static func parse(_ bytes: [UInt8]) -> ReceivedRequest? {
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines.first?.split(separator: " ") ?? []
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return ReceivedRequest(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers,
                               body: Array(bytes[end.upperBound...]), receivedAt: monotonicSeconds())
    }

    public static func monotonicSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// The Standard Webhooks signature computed by Python's `hmac`, not by Atrium's code, so a
/// test checks the scheme independently: `v1,<base64>` for `id.timestamp.body` under `secret`.
public enum IndependentSignature {
    public static func expected(secret: String, id: String, timestamp: String, body: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import base64, hashlib, hmac, sys
            secret, msg_id, ts = sys.argv[1], sys.argv[2], sys.argv[3]
            key = base64.b64decode(secret[len("whsec_"):])
            body = sys.stdin.buffer.read()
            signed = msg_id.encode() + b"." + ts.encode() + b"." + body
            print("v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode())
            """, secret, id, timestamp]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(body))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ReceiverError("python3 hmac failed") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
