/// Serializes responses straight into a byte buffer: pre-rendered status lines, the cached
/// `Date` line, and integers written digit by digit, so a response costs no formatting
/// calls and no intermediate strings.
enum ResponseEncoder {
    private static let statusLines: [Int: [UInt8]] = {
        var table: [Int: [UInt8]] = [:]
        for (code, reason) in reasonPhrases {
            table[code] = Array("HTTP/1.1 \(code) \(reason)\r\n".utf8)
        }
        return table
    }()

    static let reasonPhrases: [Int: String] = [
        100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
        301: "Moved Permanently", 302: "Found", 304: "Not Modified",
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
        405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict",
        410: "Gone", 412: "Precondition Failed", 413: "Content Too Large", 414: "URI Too Long",
        415: "Unsupported Media Type", 417: "Expectation Failed", 422: "Unprocessable Content",
        428: "Precondition Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
        500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
        503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
    ]

    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Appends the whole response.
    /// - Parameters:
    ///   - headOnly: a `HEAD` request: the headers of the `GET` response, no body.
    ///   - close: add `Connection: close`.
    ///   - keepAlive10: an HTTP/1.0 client asked for keep-alive: confirm it.
    static func encode(
        _ response: HTTPResponse, requestID: String, dateLine: [UInt8],
        headOnly: Bool, close: Bool, keepAlive10: Bool, into buffer: inout [UInt8]
    ) {
        if let line = statusLines[response.status] {
            buffer.append(contentsOf: line)
        } else {
            buffer.append(contentsOf: "HTTP/1.1 ".utf8)
            appendDecimal(response.status, to: &buffer)
            buffer.append(contentsOf: " Unknown\r\n".utf8)
        }
        buffer.append(contentsOf: dateLine)
        let bodyless = response.status == 204 || response.status == 304 || response.status < 200
        if !bodyless {
            if !response.body.isEmpty {
                buffer.append(contentsOf: "Content-Type: ".utf8)
                buffer.append(contentsOf: response.contentType.utf8)
                buffer.append(contentsOf: "\r\n".utf8)
            }
            buffer.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(response.body.count, to: &buffer)
            buffer.append(contentsOf: "\r\n".utf8)
        }
        buffer.append(contentsOf: "X-Request-ID: ".utf8)
        buffer.append(contentsOf: requestID.utf8)
        buffer.append(contentsOf: "\r\n".utf8)
        if close {
            buffer.append(contentsOf: "Connection: close\r\n".utf8)
        } else if keepAlive10 {
            buffer.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        for field in response.headers where isSafe(field.name) && isSafe(field.value) {
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(contentsOf: ": ".utf8)
            buffer.append(contentsOf: field.value.utf8)
            buffer.append(contentsOf: "\r\n".utf8)
        }
        buffer.append(contentsOf: "\r\n".utf8)
        if !headOnly && !bodyless {
            buffer.append(contentsOf: response.body)
        }
    }

    /// Appends the head of a streaming response: no `Content-Length`; `Transfer-Encoding:
    /// chunked` unless `unframed` (HTTP/1.0, whose body then ends when the connection closes).
    static func encodeStreamHead(
        _ response: HTTPResponse, requestID: String, dateLine: [UInt8], unframed: Bool, into buffer: inout [UInt8]
    ) {
        if let line = statusLines[response.status] { buffer.append(contentsOf: line) }
        buffer.append(contentsOf: dateLine)
        buffer.append(contentsOf: "Content-Type: ".utf8)
        buffer.append(contentsOf: response.contentType.utf8)
        let framing = unframed ? "\r\nConnection: close\r\n" : "\r\nTransfer-Encoding: chunked\r\n"
        buffer.append(contentsOf: framing.utf8)
        buffer.append(contentsOf: "X-Request-ID: ".utf8)
        buffer.append(contentsOf: requestID.utf8)
        buffer.append(contentsOf: "\r\n".utf8)
        for field in response.headers where isSafe(field.name) && isSafe(field.value) {
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(contentsOf: ": ".utf8)
            buffer.append(contentsOf: field.value.utf8)
            buffer.append(contentsOf: "\r\n".utf8)
        }
        buffer.append(contentsOf: "\r\n".utf8)
    }

    /// Appends `bytes` as one chunk of a chunked body (as they are when `unframed`).
    static func encodeChunk(_ bytes: [UInt8], unframed: Bool, into buffer: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        if unframed {
            buffer.append(contentsOf: bytes)
            return
        }
        appendHex(bytes.count, to: &buffer)
        buffer.append(contentsOf: "\r\n".utf8)
        buffer.append(contentsOf: bytes)
        buffer.append(contentsOf: "\r\n".utf8)
    }

    /// The last chunk of a chunked body.
    static let finalChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    private static func appendHex(_ value: Int, to buffer: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        var shift = (Int.bitWidth - value.leadingZeroBitCount + 3) / 4 * 4
        if shift == 0 { shift = 4 }
        while shift > 0 {
            shift -= 4
            buffer.append(digits[(value >> shift) & 0xF])
        }
    }

    /// A header name or value a handler set must not be able to split the response.
    @inline(__always)
    private static func isSafe(_ text: String) -> Bool {
        for byte in text.utf8 where byte < 0x20 && byte != 0x09 || byte == 0x7F { return false }
        return true
    }

    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value == 0 {
            buffer.append(UInt8(ascii: "0"))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var magnitude = value.magnitude
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while magnitude > 0 && count < 20 {
                raw[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            if value < 0 { buffer.append(UInt8(ascii: "-")) }
            buffer.append(contentsOf: raw[(20 - count)...])
        }
    }
}
