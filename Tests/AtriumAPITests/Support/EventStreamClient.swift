import Foundation
import Glibc

/// One message of a Server-Sent Events stream.
enum StreamItem: Equatable {
    case event(id: Int64, type: String, data: String)
    case comment(String)
}

/// A `GET /v1/events/stream` over its own socket: the head, then the chunked body parsed into
/// events and comments as they arrive, and how the stream ended (final chunk, close).
final class EventStreamClient {
    let socket: WireSocket
    private(set) var status = 0
    private(set) var headers: [(name: String, value: String)] = []
    /// The error body of a refused stream.
    private(set) var errorBody = ""
    private var raw: [UInt8] = []
    private var text: [UInt8] = []
    private var items: [StreamItem] = []
    /// The final chunk (`0\r\n\r\n`) arrived.
    private(set) var ended = false
    /// The server closed the connection.
    private(set) var closed = false

    init(port: Int, path: String = "/v1/events/stream", headers requestHeaders: [(String, String)],
         receiveBuffer: Int? = nil) throws {
        socket = try WireSocket(port: port, receiveBuffer: receiveBuffer)
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        for (name, value) in requestHeaders { request += "\(name): \(value)\r\n" }
        try socket.send(request + "\r\n")
        let deadline = Date().addingTimeInterval(15)
        var headEnd: Int?
        while headEnd == nil {
            guard Date() < deadline, receive(timeout: deadline.timeIntervalSinceNow) else {
                throw TestFailure("no response head")
            }
            headEnd = Self.find([13, 10, 13, 10], in: raw)
        }
        let end = headEnd ?? 0
        let head = String(decoding: raw[0..<end], as: UTF8.self)
        raw.removeFirst(end + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        status = Int(statusLine.split(separator: " ")[1]) ?? 0
        headers = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        if status != 200 {
            let length = Int(header("Content-Length") ?? "0") ?? 0
            while raw.count < length && receive(timeout: 5) {}
            errorBody = String(decoding: raw.prefix(length), as: UTF8.self)
        }
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The next event or comment, or nil when none comes within `timeout` (or the stream is over).
    func next(timeout: Double) -> StreamItem? {
        let deadline = Date().addingTimeInterval(timeout)
        parse()
        while items.isEmpty {
            if ended || closed { return nil }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, receive(timeout: remaining) else { return nil }
            parse()
        }
        return items.removeFirst()
    }

    /// The next `count` events (comments skipped); fewer when they do not come in time.
    func events(_ count: Int, timeout: Double) -> [(id: Int64, type: String, data: String)] {
        var result: [(id: Int64, type: String, data: String)] = []
        let deadline = Date().addingTimeInterval(timeout)
        while result.count < count, let item = next(timeout: max(0, deadline.timeIntervalSinceNow)) {
            if case .event(let id, let type, let data) = item { result.append((id, type, data)) }
        }
        return result
    }

    /// Every item until the stream ends or `timeout` passes.
    func drain(timeout: Double) -> [StreamItem] {
        var result: [StreamItem] = []
        let deadline = Date().addingTimeInterval(timeout)
        while let item = next(timeout: max(0, deadline.timeIntervalSinceNow)) { result.append(item) }
        return result
    }

    /// Reads until the server closes the connection (or `timeout`); true when it did.
    func waitForClose(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !closed && deadline.timeIntervalSinceNow > 0 {
            _ = receive(timeout: deadline.timeIntervalSinceNow)
            parse()
        }
        parse()
        return closed
    }

    func close() { socket.close() }

    /// One read into `raw`; false on timeout or close.
    private func receive(timeout: Double) -> Bool {
        guard !closed else { return false }
        var descriptor = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(max(1, timeout * 1000))) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 {
            raw.append(contentsOf: chunk[0..<n])
            return true
        }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return true }
        closed = true
        return false
    }

    /// Takes whole chunks out of `raw`, then whole SSE messages out of the text.
    private func parse() {
        while !ended, let lineEnd = Self.find([13, 10], in: raw) {
            let sizeText = String(decoding: raw[0..<lineEnd], as: UTF8.self)
            guard let size = Int(sizeText, radix: 16) else { return }
            if size == 0 {
                ended = true
                raw.removeAll()
                break
            }
            guard raw.count >= lineEnd + 2 + size + 2 else { return }
            text.append(contentsOf: raw[(lineEnd + 2)..<(lineEnd + 2 + size)])
            raw.removeFirst(lineEnd + 2 + size + 2)
        }
        while let end = Self.find([10, 10], in: text) {
            let block = String(decoding: text[0..<end], as: UTF8.self)
            text.removeFirst(end + 2)
            var id: Int64?
            var type = ""
            var data = ""
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") {
                    items.append(.comment(line.dropFirst().trimmingCharacters(in: .whitespaces)))
                } else if line.hasPrefix("id: evt_") {
                    id = Int64(line.dropFirst(8))
                } else if line.hasPrefix("event: ") {
                    type = String(line.dropFirst(7))
                } else if line.hasPrefix("data: ") {
                    data = String(line.dropFirst(6))
                }
            }
            if let id { items.append(.event(id: id, type: type, data: data)) }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
