import AtriumJSON
import Foundation
import Glibc

// Helpers for the socket-level tests (HTTPWireTests, HTTPLimitsTests, DurabilityTests,
// ProcessTests): a raw socket that can tell "closed by the server" from "timed out", and
// a way to run the `atrium` binary with its own arguments and environment.

/// A wire response plus its raw status line.
struct WireResponse {
    let statusLine: String
    let response: TestResponse

    var status: Int { response.status }
    var errorCode: String? { response.errorCode }
    var json: JSONValue { response.json }
    func header(_ name: String) -> String? { response.header(name) }
}

/// What is left on a connection once the server is done with it.
struct WireTail {
    /// The server closed the connection (EOF or reset) before the deadline.
    let closed: Bool
    /// Bytes received (after anything already parsed) until then.
    let bytes: [UInt8]

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// One TCP connection to the server with full control over what is sent and read.
final class WireSocket {
    let fd: Int32
    let port: Int
    private var buffer: [UInt8] = []
    private var isOpen = true

    /// Connects to 127.0.0.1:port; throws when the connection is refused.
    init(port: Int, receiveTimeout: Double = 15, receiveBuffer: Int? = nil) throws {
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        if var size = receiveBuffer.map(Int32.init) {
            // Before connect, so the window the server may fill stays this small.
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            isOpen = false
            throw TestFailure("connect failed: errno \(code)")
        }
        setReceiveTimeout(receiveTimeout)
    }

    deinit { close() }

    func close() {
        guard isOpen else { return }
        isOpen = false
        Glibc.close(fd)
    }

    func setReceiveTimeout(_ seconds: Double) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        guard trySend(bytes) else { throw TestFailure("send failed: errno \(errno)") }
    }

    /// Sends everything; false when the peer is gone (EPIPE, reset).
    @discardableResult
    func trySend(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    @discardableResult
    func trySend(_ text: String) -> Bool { trySend(Array(text.utf8)) }

    /// True when bytes (or EOF) can be read within `timeout` seconds (buffered bytes count).
    func waitReadable(timeout: Double) -> Bool {
        if !buffer.isEmpty { return true }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, Int32(timeout * 1000)) > 0
    }

    /// Reads one response (Content-Length framed; interim 1xx responses have no body).
    func readResponse(headRequest: Bool = false) throws -> WireResponse {
        while true {
            if let end = headEnd() {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let parts = statusLine.split(separator: " ")
                guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
                    throw TestFailure("bad status line: \(statusLine)")
                }
                var headers: [(name: String, value: String)] = []
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers.append((String(line[..<colon]),
                                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
                }
                let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
                let bodyLength = (headRequest || status == 204 || status == 304 || status < 200) ? 0 : length
                let start = end + 4
                while buffer.count < start + bodyLength { try fill() }
                let body = Array(buffer[start..<(start + bodyLength)])
                buffer.removeFirst(start + bodyLength)
                return WireResponse(statusLine: statusLine,
                                    response: TestResponse(status: status, headers: headers, body: body))
            }
            try fill()
        }
    }

    /// Reads until the server closes the connection or `timeout` seconds pass.
    func readUntilClose(timeout: Double) -> WireTail {
        var collected = buffer
        buffer = []
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return WireTail(closed: false, bytes: collected) }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(max(1, remaining * 1000)))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return WireTail(closed: false, bytes: collected) }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                collected.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                return WireTail(closed: true, bytes: collected)
            } else if errno == EAGAIN || errno == EINTR {
                continue
            } else {
                return WireTail(closed: true, bytes: collected)
            }
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw TestFailure(n == 0 ? "connection closed by server" : "recv failed: errno \(errno)") }
        buffer.append(contentsOf: chunk[0..<n])
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4)
        where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

enum Wire {
    /// A request as raw text (Host included unless `host` is nil).
    static func request(_ method: String, _ path: String, version: String = "HTTP/1.1", host: String? = "127.0.0.1",
                        headers: [(String, String)] = [], body: String? = nil) -> String {
        var text = "\(method) \(path) \(version)\r\n"
        if let host { text += "Host: \(host)\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                text += "Content-Type: application/json\r\n"
            }
            text += "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            text += "\r\n"
        }
        return text
    }

    /// How many HTTP responses start in these bytes (status lines at a line start).
    static func responseCount(in bytes: [UInt8]) -> Int {
        let text = String(decoding: bytes, as: UTF8.self)
        var count = text.hasPrefix("HTTP/1.") ? 1 : 0
        count += text.components(separatedBy: "\r\nHTTP/1.").count - 1
        return count
    }

    /// A valid X-Request-ID per api.md §1.
    static func isValidRequestID(_ value: String?) -> Bool {
        guard let value, (1...128).contains(value.utf8.count) else { return false }
        return value.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                || byte == 46 || byte == 95 || byte == 45
        }
    }

    /// IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func isIMFFixdate(_ value: String?) -> Bool {
        guard let value else { return false }
        let pattern = #"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"#
        return value.range(of: pattern, options: .regularExpression) != nil
    }

    static func signupBody(email: String, password: String = "correct horse battery", name: String = "Wire") -> String {
        #"{"email":"\#(email)","password":"\#(password)","name":"\#(name)"}"#
    }

    static func uniqueEmail(_ tag: String = "wire") -> String {
        "\(tag)-\(UUID().uuidString.prefix(12).lowercased())@example.com"
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` seconds pass.
    static func eventually(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// The environment of this test process without any ATRIUM_ setting (ATRIUM_BINARY aside),
    /// plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ATRIUM_") }
        for (key, value) in extra { environment[key] = value }
        return environment
    }
}

/// The outcome of running the binary to completion.
struct AtriumRun {
    let status: Int32
    let exitedNormally: Bool
    let stdout: String
    let stderr: String
    let timedOut: Bool
}

/// Collects a pipe's bytes on a background thread.
final class PipeCollector: @unchecked Sendable {
    // @unchecked Sendable: `text` is only touched under `lock`.
    private let lock = NSLock()
    private var text = ""
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                lock.lock()
                text += String(decoding: data, as: UTF8.self)
                lock.unlock()
            }
            done.signal()
        }
    }

    var current: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }

    /// Waits (bounded) for EOF, then returns everything.
    func finish(timeout: Double = 5) -> String {
        _ = done.wait(timeout: .now() + timeout)
        return current
    }
}

enum AtriumBinary {
    /// Runs `atrium <arguments>` to completion (killed after `timeout` seconds).
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 20) throws -> AtriumRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestServer.binaryPath)
        process.arguments = try TestEngine.arguments(arguments)
        process.environment = Wire.environment(environment)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outCollector = PipeCollector(out.fileHandleForReading)
        let errCollector = PipeCollector(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = process.isRunning
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return AtriumRun(status: process.terminationStatus, exitedNormally: process.terminationReason == .exit,
                         stdout: outCollector.finish(), stderr: errCollector.finish(), timedOut: timedOut)
    }
}

/// `atrium serve` with its own environment (TestServer passes the test's environment through).
final class EnvServer {
    let process: Process
    let port: Int
    private let output: PipeCollector

    init(_ arguments: [String], environment: [String: String]) throws {
        let directory = TestServer.makeTemporaryDirectory()
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestServer.binaryPath)
        process.arguments = try TestEngine.arguments(
            ["serve", "--port", "0", "--data-dir", directory, "--password-iterations", "1000"] + arguments)
        process.environment = Wire.environment(environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        output = PipeCollector(pipe.fileHandleForReading)
        var found: Int?
        let collector = output
        let launched = process
        _ = Wire.eventually(timeout: 20) {
            let text = collector.current
            if let range = text.range(of: "listening on http://127.0.0.1:") {
                found = Int(text[range.upperBound...].prefix { $0.isNumber })
            }
            return found != nil || !launched.isRunning
        }
        guard let found else {
            if launched.isRunning { kill(launched.processIdentifier, SIGKILL) }
            throw TestFailure("server did not start: \(collector.current)")
        }
        port = found
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var log: String { output.current }

    func client() throws -> HTTPTestClient { try HTTPTestClient(port: port) }
}

/// A thread-safe bag of results for tests that drive many threads.
final class Collected<Value>: @unchecked Sendable {
    // @unchecked Sendable: `values` is only touched under `lock`.
    private let lock = NSLock()
    private var values: [Value] = []

    func append(_ value: Value) {
        lock.lock()
        values.append(value)
        lock.unlock()
    }

    var all: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}

/// Runs `count` bodies on their own threads and waits for all of them.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            body(index)
            group.leave()
        }
    }
    group.wait()
}
