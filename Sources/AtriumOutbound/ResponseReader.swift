/// Parses one HTTP/1.x response from a byte source: status line, headers, then a body
/// framed by Content-Length, chunked encoding, or the end of the connection.
///
/// The receiver is untrusted, so every size is bounded: the head at 64 KiB, 100 headers,
/// chunk sizes checked, and the body kept only up to `OutboundResponse.bodyLimit` (reading
/// stops there: the connection is closed afterwards anyway).
struct ResponseReader {
    static let headLimit = 64 * 1024
    static let headerCountLimit = 100

    private let source: any Transport
    private let deadline: Deadline
    private var buffer: [UInt8] = []
    private var position = 0
    private var headBytes = 0
    private var closed = false

    init(source: any Transport, deadline: Deadline) {
        self.source = source
        self.deadline = deadline
    }

    mutating func readResponse(requestMethod: String) throws(OutboundError) -> OutboundResponse {
        var (status, headers) = try readHead()
        // Interim 1xx answers (100 Continue, 103 Early Hints) precede the real one.
        while (100...199).contains(status) && status != 101 {
            headBytes = 0
            (status, headers) = try readHead()
        }
        if requestMethod == "HEAD" || status == 204 || status == 304 || status == 101 {
            return OutboundResponse(status: status, headers: headers, body: [])
        }
        let lowered = headers.map { ($0.0.lowercased(), $0.1) }
        let transferEncoding = lowered.filter { $0.0 == "transfer-encoding" }.map { $0.1.lowercased() }
        if !transferEncoding.isEmpty {
            let codings = transferEncoding.joined(separator: ",").split(separator: ",")
                .map { $0.trimmingCharacters(in: " \t") }
            guard codings.last == "chunked" else {
                // RFC 9112 §6.3: without final chunked, the body runs to the end of the connection.
                return OutboundResponse(status: status, headers: headers, body: try readToEnd())
            }
            return OutboundResponse(status: status, headers: headers, body: try readChunked())
        }
        let lengths = lowered.filter { $0.0 == "content-length" }
            .flatMap { $0.1.split(separator: ",").map { $0.trimmingCharacters(in: " \t") } }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), let length = Self.parseDecimal(first) else {
                throw OutboundError(.protocolError, "invalid Content-Length")
            }
            return OutboundResponse(status: status, headers: headers, body: try readExactly(length))
        }
        return OutboundResponse(status: status, headers: headers, body: try readToEnd())
    }

    // MARK: Head

    private mutating func readHead() throws(OutboundError) -> (Int, [(String, String)]) {
        let statusLine = try readLine()
        let status = try Self.parseStatusLine(statusLine)
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard headers.count < Self.headerCountLimit else {
                throw OutboundError(.protocolError, "too many response headers")
            }
            guard line.first != UInt8(ascii: " ") && line.first != UInt8(ascii: "\t"),
                  let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw OutboundError(.protocolError, "malformed response header")
            }
            let name = line[line.startIndex..<colon]
            guard name.allSatisfy(Self.isTokenByte) else {
                throw OutboundError(.protocolError, "malformed response header name")
            }
            var value = line[(colon + 1)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return (status, headers)
    }

    static func parseStatusLine(_ line: [UInt8]) throws(OutboundError) -> Int {
        // "HTTP/1.1 200 OK"; the reason phrase may be empty or absent.
        guard line.count >= 12, line.starts(with: "HTTP/1.".utf8),
              line[7] >= 0x30 && line[7] <= 0x39, line[8] == 0x20,
              line[9...11].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              line.count == 12 || line[12] == 0x20 else {
            throw OutboundError(.protocolError, "malformed status line")
        }
        return line[9...11].reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// One line without its CRLF (a bare LF is tolerated); counts towards the head limit.
    private mutating func readLine() throws(OutboundError) -> [UInt8] {
        var scanFrom = position
        while true {
            if let newline = buffer[scanFrom...].firstIndex(of: 0x0A) {
                var end = newline
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[position..<end])
                headBytes += newline + 1 - position
                position = newline + 1
                guard headBytes <= Self.headLimit else {
                    throw OutboundError(.protocolError, "response head too large")
                }
                return line
            }
            guard headBytes + buffer.count - position <= Self.headLimit else {
                throw OutboundError(.protocolError, "response head too large")
            }
            scanFrom = buffer.count
            guard try fill() else { throw OutboundError(.protocolError, "connection closed mid-response") }
        }
    }

    // MARK: Body

    private mutating func readExactly(_ length: Int) throws(OutboundError) -> [UInt8] {
        let wanted = min(length, OutboundResponse.bodyLimit)
        while buffer.count - position < wanted {
            guard try fill() else { throw OutboundError(.protocolError, "body shorter than Content-Length") }
        }
        return take(wanted)
    }

    private mutating func readToEnd() throws(OutboundError) -> [UInt8] {
        while buffer.count - position < OutboundResponse.bodyLimit {
            guard try fill() else { break }
        }
        return take(min(buffer.count - position, OutboundResponse.bodyLimit))
    }

    private mutating func readChunked() throws(OutboundError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            headBytes = 0
            let sizeLine = try readLine()
            let sizeText = sizeLine.prefix { $0 != UInt8(ascii: ";") }
                .filter { $0 != 0x20 && $0 != 0x09 }
            guard let size = Self.parseHex(sizeText) else {
                throw OutboundError(.protocolError, "malformed chunk size")
            }
            if size == 0 {
                // Trailers, then the empty line; a receiver that just closes is tolerated.
                while !closed || position < buffer.count {
                    headBytes = 0
                    guard let line = try? readLine(), !line.isEmpty else { break }
                }
                return body
            }
            var remaining = size
            while remaining > 0 {
                if position == buffer.count {
                    guard try fill() else { throw OutboundError(.protocolError, "connection closed mid-chunk") }
                }
                let count = min(remaining, buffer.count - position)
                let room = OutboundResponse.bodyLimit - body.count
                body.append(contentsOf: buffer[position..<(position + min(count, room))])
                position += count
                remaining -= count
                if body.count >= OutboundResponse.bodyLimit { return body }
            }
            guard try readLine().isEmpty else {
                throw OutboundError(.protocolError, "chunk not followed by CRLF")
            }
        }
    }

    // MARK: Buffer

    /// Reads more bytes; false once the peer has closed.
    private mutating func fill() throws(OutboundError) -> Bool {
        if closed { return false }
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        let bytes = try source.read(capacity: 16 * 1024, deadline: deadline)
        if bytes.isEmpty { closed = true; return false }
        buffer.append(contentsOf: bytes)
        return true
    }

    private mutating func take(_ count: Int) -> [UInt8] {
        let bytes = Array(buffer[position..<(position + count)])
        position += count
        return bytes
    }

    // MARK: Numbers

    static func parseDecimal(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    static func parseHex(_ bytes: [UInt8]) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 15 else { return nil }
        var value = 0
        for byte in bytes {
            let digit: Int
            switch byte {
            case 0x30...0x39: digit = Int(byte - 0x30)
            case 0x61...0x66: digit = Int(byte - 0x61 + 10)
            case 0x41...0x46: digit = Int(byte - 0x41 + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
