import Testing
@testable import AtriumHTTP

/// How a streaming response goes on the wire: a head without `Content-Length` (chunked for
/// HTTP/1.1, close-delimited for HTTP/1.0) and each pushed piece as one chunk.
@Suite("Streaming response encoding")
struct StreamEncodingTests {
    @Test("chunk sizes are lower-case hex without leading zeros; an empty piece is no chunk")
    func chunkFraming() {
        for (size, hex) in [(1, "1"), (15, "f"), (16, "10"), (255, "ff"), (4096, "1000"), (65_535, "ffff")] {
            var buffer: [UInt8] = []
            ResponseEncoder.encodeChunk([UInt8](repeating: 0x61, count: size), unframed: false, into: &buffer)
            #expect(buffer.starts(with: Array("\(hex)\r\n".utf8)), "size \(size)")
            #expect(buffer.count == hex.utf8.count + 2 + size + 2)
            #expect(buffer.suffix(2) == [13, 10])
        }
        var empty: [UInt8] = []
        ResponseEncoder.encodeChunk([], unframed: false, into: &empty)
        #expect(empty.isEmpty, "a zero-size chunk would end the body")
        var raw: [UInt8] = []
        ResponseEncoder.encodeChunk(Array("abc".utf8), unframed: true, into: &raw)
        #expect(raw == Array("abc".utf8))
        #expect(ResponseEncoder.finalChunk == Array("0\r\n\r\n".utf8))
    }

    @Test("the head: status, type, Transfer-Encoding: chunked, no Content-Length; HTTP/1.0 closes instead")
    func head() {
        var response = HTTPResponse(status: 200, headers: [("Cache-Control", "no-cache")],
                                    contentType: "text/event-stream")
        response.stream = HTTPStreamStart { _ in }
        var buffer: [UInt8] = []
        ResponseEncoder.encodeStreamHead(response, requestID: "r1", dateLine: Array("Date: x\r\n".utf8),
                                         unframed: false, into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Content-Type: text/event-stream\r\n"))
        #expect(text.contains("Transfer-Encoding: chunked\r\n"))
        #expect(text.contains("Cache-Control: no-cache\r\n"))
        #expect(!text.lowercased().contains("content-length"))
        #expect(text.hasSuffix("\r\n\r\n"))
        var old: [UInt8] = []
        ResponseEncoder.encodeStreamHead(response, requestID: "r1", dateLine: [], unframed: true, into: &old)
        let oldText = String(decoding: old, as: UTF8.self)
        #expect(oldText.contains("Connection: close\r\n") && !oldText.contains("Transfer-Encoding"))
    }
}
