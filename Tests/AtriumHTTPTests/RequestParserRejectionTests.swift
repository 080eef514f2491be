import AtriumHTTP
import Testing

/// One input the parser must refuse, with the status and rule it must name.
struct ParserRejection: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let status: Int
    let reason: HTTPParseError.Reason
    var limits = HTTPLimits()

    var testDescription: String { name }
}

private func reject(
    _ name: String, _ bytes: [UInt8], _ status: Int, _ reason: HTTPParseError.Reason, limits: HTTPLimits = HTTPLimits()
) -> ParserRejection {
    ParserRejection(name: name, bytes: bytes, status: status, reason: reason, limits: limits)
}

private func reject(
    _ name: String, _ text: String, _ status: Int, _ reason: HTTPParseError.Reason, limits: HTTPLimits = HTTPLimits()
) -> ParserRejection {
    reject(name, Array(text.utf8), status, reason, limits: limits)
}

/// A chunked POST head followed by `body`.
private func chunked(_ body: String) -> String {
    "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body
}

let parserRejections: [ParserRejection] = [
    // Line endings
    reject("bare LF", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, .bareLineFeed),
    reject("bare LF in header block", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400, .bareLineFeed),
    reject("bare LF as header terminator", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, .bareLineFeed),
    reject("bare CR", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400, .bareCarriageReturn),
    reject("CR inside a value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, .bareCarriageReturn),
    reject("too many empty lines", String(repeating: "\r\n", count: 5) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .tooManyEmptyLines),
    // Request line
    reject("NUL in request line", "GET /\u{0} HTTP/1.1\r\nHost: a\r\n\r\n", 400, .controlCharacterInRequestLine),
    reject("tab in request line", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, .controlCharacterInRequestLine),
    reject("DEL in request line", "GET /\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n", 400, .controlCharacterInRequestLine),
    reject("missing version", "GET /\r\nHost: a\r\n\r\n", 400, .invalidRequestLine),
    reject("double space after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestLine),
    reject("double space before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestLine),
    reject("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestTarget),
    reject("trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, .malformedVersion),
    reject("method longer than any served", "PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .methodTooLong),
    reject("method too long before the line ends", "OPTIONSX", 400, .methodTooLong),
    reject("8 KiB method (was 414, which is for the target)", String(repeating: "G", count: 9000) + " / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .methodTooLong),
    reject("8 KiB method without a line end", String(repeating: "G", count: 9000), 400, .methodTooLong),
    reject("method after empty lines too long", "\r\n\r\nDELETEME / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .methodTooLong),
    reject("method one byte over a small limit", "POST / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .methodTooLong,
           limits: .testing { $0.maxMethodBytes = 3 }),
    reject("method not a token", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidMethod),
    reject("non-ASCII method", [0x47, 0xC3, 0x89, 0x54] + Array(" / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), 400, .invalidMethod),
    reject("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, .malformedVersion),
    reject("version with two minor digits", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, .malformedVersion),
    reject("version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400, .malformedVersion),
    reject("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, .unsupportedVersion),
    reject("HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, .unsupportedVersion),
    reject("CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501, .connectNotImplemented),
    reject("* with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, .asteriskFormWithoutOptions),
    reject("bracket in the path", "GET /a[1] HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestTarget),
    reject("non-ASCII byte in target", Array("GET /caf".utf8) + [0xC3, 0xA9] + Array(" HTTP/1.1\r\nHost: a\r\n\r\n".utf8), 400, .invalidRequestTarget),
    reject("fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestTarget),
    reject("invalid percent escape", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestTarget),
    reject("truncated percent escape", "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestTarget),
    reject("backslash in target", "GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestTarget),
    reject("relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestTarget),
    reject("authority-form with GET", "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, .invalidRequestTarget),
    reject("absolute-form with userinfo", "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, .invalidRequestTarget),
    reject("absolute-form with empty host", "GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", 400, .invalidRequestTarget),
    reject("absolute-form with other scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, .invalidRequestTarget),
    reject("request line too long", "GET /" + String(repeating: "a", count: 8200) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, .requestLineTooLong),
    reject("request line too long before its CRLF", "GET /" + String(repeating: "a", count: 8200), 414, .requestLineTooLong),
    reject("request line one byte over a small limit", "GET /abc HTTP/1.1\r\n", 414, .requestLineTooLong,
           limits: .testing { $0.maxRequestLineBytes = 16 }),
    // Header fields
    reject("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n continued\r\n\r\n", 400, .obsoleteLineFolding),
    reject("obs-fold with tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tcontinued\r\n\r\n", 400, .obsoleteLineFolding),
    reject("whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, .obsoleteLineFolding),
    reject("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, .whitespaceBeforeColon),
    reject("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, .whitespaceBeforeColon),
    reject("empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400, .invalidFieldName),
    reject("field without colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A b\r\n\r\n", 400, .invalidFieldName),
    reject("field name not a token", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400, .invalidFieldName),
    reject("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{0}c\r\n\r\n", 400, .invalidFieldValue),
    reject("control char in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{1}c\r\n\r\n", 400, .invalidFieldValue),
    reject("DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{7F}\r\n\r\n", 400, .invalidFieldValue),
    reject("too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + (1...100).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431, .tooManyHeaderFields),
    reject("too many headers before the block ends", "GET / HTTP/1.1\r\n" + (1...101).map { "X-\($0): v\r\n" }.joined(), 431, .tooManyHeaderFields),
    reject("header block too big", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 17_000) + "\r\n\r\n", 431, .headerBlockTooLarge),
    reject("header block too big before its end", "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X-Fill: " + String(repeating: "0123456789", count: 40) + "\r\n", count: 50), 431, .headerBlockTooLarge),
    reject("header block one byte over a small limit", "GET / HTTP/1.1\r\nHost: a\r\nX: 12\r\n\r\n", 431, .headerBlockTooLarge,
           limits: .testing { $0.maxHeaderBytes = 15 }),
    // Host
    reject("missing Host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400, .missingHost),
    reject("two Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, .multipleHost),
    reject("two Host on HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, .multipleHost),
    reject("Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, .invalidHost),
    reject("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, .invalidHost),
    reject("Host with a bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400, .invalidHost),
    reject("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, .invalidHost),
    // Content-Length and Transfer-Encoding
    reject("content-length with transfer-encoding", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, .contentLengthWithTransferEncoding),
    reject("two content-length fields", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400, .multipleContentLength),
    reject("content-length list of equal values", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 400, .multipleContentLength),
    reject("negative content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, .invalidContentLength),
    reject("content-length with plus sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400, .invalidContentLength),
    reject("empty content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, .invalidContentLength),
    reject("hex content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", 400, .invalidContentLength),
    reject("content-length overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, .contentLengthOverflow),
    reject("body too large from Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", 413, .contentLengthTooLarge),
    reject("body too large from Content-Length with Expect", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n", 413, .contentLengthTooLarge,
           limits: .testing { $0.maxBodyBytes = 10 }),
    reject("TE gzip,chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, .unsupportedTransferEncoding),
    reject("TE chunked,chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 501, .unsupportedTransferEncoding),
    reject("two TE fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, .unsupportedTransferEncoding),
    reject("TE identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400, .finalCodingNotChunked),
    // Smuggling through a body whose end only a coding we do not decode could find (RFC 9112 §6.3)
    reject("smuggling: chunked, then gzip last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, .finalCodingNotChunked),
    reject("smuggling: gzip alone", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400, .finalCodingNotChunked),
    reject("smuggling: an empty Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n0\r\n\r\n", 400, .finalCodingNotChunked),
    reject("smuggling: chunked in the first TE field, gzip in the last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400, .finalCodingNotChunked),
    reject("smuggling: chunked spelled with a trailing comma list of x", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, x\r\n\r\n0\r\n\r\n", 400, .finalCodingNotChunked),
    reject("TE gzip field, then a chunked field", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, .unsupportedTransferEncoding),
    reject("TE deflate before chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: deflate , Chunked\r\n\r\n0\r\n\r\n", 501, .unsupportedTransferEncoding),
    reject("TE chunked with parameter", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 501, .unsupportedTransferEncoding),
    reject("TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, .transferEncodingInHTTP10),
    // Chunked bodies
    reject("chunk size overflow", chunked("10000000000000000\r\n"), 400, .chunkSizeOverflow),
    reject("chunk size not hex", chunked("zz\r\n"), 400, .invalidChunkSize),
    reject("empty chunk size", chunked("\r\n"), 400, .invalidChunkSize),
    reject("negative chunk size", chunked("-5\r\n"), 400, .invalidChunkSize),
    reject("chunk size with trailing space", chunked("5 \r\nhello\r\n0\r\n\r\n"), 400, .invalidChunkSize),
    reject("chunk size with 0x prefix", chunked("0x5\r\nhello\r\n0\r\n\r\n"), 400, .invalidChunkSize),
    reject("chunk size with too many leading zeros", chunked(String(repeating: "0", count: 70) + "5\r\nhello\r\n0\r\n\r\n"), 400, .invalidChunkSize),
    reject("chunk extension too long", chunked("5;" + String(repeating: "a", count: 5000) + "\r\nhello\r\n0\r\n\r\n"), 400, .chunkExtensionTooLong),
    reject("chunk extension just over the limit", chunked("5;" + String(repeating: "a", count: 4096) + "\r\nhello\r\n0\r\n\r\n"), 400, .chunkExtensionTooLong),
    reject("chunk extension too long before its CRLF", chunked("5;" + String(repeating: "a", count: 5000)), 400, .chunkExtensionTooLong),
    reject("chunk extension without name", chunked("5;=x\r\nhello\r\n0\r\n\r\n"), 400, .invalidChunkExtension),
    reject("chunk extension with control char", chunked("5;a=\"b\u{1}\"\r\nhello\r\n0\r\n\r\n"), 400, .invalidChunkExtension),
    reject("unterminated quoted chunk extension", chunked("5;a=\"b\r\nhello\r\n0\r\n\r\n"), 400, .invalidChunkExtension),
    reject("missing CRLF after chunk data", chunked("5\r\nhelloX\r\n0\r\n\r\n"), 400, .missingChunkDataCRLF),
    reject("CR without LF after chunk data", chunked("5\r\nhello\rX0\r\n\r\n"), 400, .missingChunkDataCRLF),
    reject("chunk data longer than its size", chunked("3\r\nhello\r\n0\r\n\r\n"), 400, .missingChunkDataCRLF),
    reject("chunked body too large", chunked("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"), 413, .chunkedBodyTooLarge,
           limits: .testing { $0.maxBodyBytes = 10 }),
    reject("chunked body too large in one chunk", chunked("100001\r\n"), 413, .chunkedBodyTooLarge),
    reject("obs-fold in trailer", chunked("0\r\nX-T: a\r\n b\r\n\r\n"), 400, .obsoleteLineFolding),
    reject("NUL in trailer", chunked("0\r\nX-T: a\u{0}\r\n\r\n"), 400, .invalidFieldValue),
    reject("space before colon in trailer", chunked("0\r\nX-T : a\r\n\r\n"), 400, .whitespaceBeforeColon),
    reject("too many fields with trailers", chunked("0\r\nX-T1: a\r\nX-T2: b\r\n\r\n"), 431, .tooManyHeaderFields,
           limits: .testing { $0.maxHeaderCount = 3 }),
    reject("header block too big with trailers", chunked("0\r\nX-T: " + String(repeating: "t", count: 100) + "\r\n\r\n"), 431, .headerBlockTooLarge,
           limits: .testing { $0.maxHeaderBytes = 100 }),
    // Expect
    reject("Expect: something", "POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\nContent-Length: 2\r\n\r\nhi", 417, .unsupportedExpectation),
    reject("Expect list with 100-continue", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\nContent-Length: 2\r\n\r\nhi", 417, .unsupportedExpectation),
    reject("Expect: something on HTTP/1.0", "POST / HTTP/1.0\r\nExpect: something\r\nContent-Length: 2\r\n\r\nhi", 417, .unsupportedExpectation),
]

@Suite("RequestParser parserRejections")
struct RequestParserRejectionTests {
    @Test("refuses with the named rule", arguments: parserRejections)
    func refuses(_ rejection: ParserRejection) {
        let outcome = parseRequests(rejection.bytes, limits: rejection.limits)
        #expect(outcome.requests.isEmpty)
        #expect(outcome.failure?.status == rejection.status)
        #expect(outcome.failure?.reason == rejection.reason)
        #expect(outcome.failure?.reason.status == rejection.status)
    }

    @Test("the same rule fires however the bytes are split", arguments: parserRejections)
    func splitInvariant(_ rejection: ParserRejection) {
        let whole = parseRequests(rejection.bytes, limits: rejection.limits)
        let single = parseRequests(pieces: splitIntoBytes(rejection.bytes), limits: rejection.limits)
        #expect(single.sameResult(as: whole), "byte by byte: \(single) vs \(whole)")
        var generator = ParserTestGenerator(seed: 0xA7_12_00 &+ UInt64(rejection.bytes.count))
        for _ in 0..<20 {
            let split = parseRequests(pieces: splitRandomly(rejection.bytes, using: &generator), limits: rejection.limits)
            #expect(split.sameResult(as: whole), "random split: \(split) vs \(whole)")
        }
    }

    @Test("413 from Content-Length is decided before any body byte and without 100-continue")
    func bodyTooLargeBeforeBody() {
        var parser = RequestParser(limits: .testing { $0.maxBodyBytes = 10 })
        parser.append(contentsOf: Array("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n".utf8))
        guard case .failed(let error) = parser.next() else {
            Issue.record("expected a failure before the body")
            return
        }
        #expect(error.status == 413)
        #expect(error.reason == .contentLengthTooLarge)
    }

    @Test("414 is decided as soon as the limit is passed without CRLF")
    func requestLineTooLongEarly() {
        var parser = RequestParser(limits: .testing { $0.maxRequestLineBytes = 10 })
        parser.append(contentsOf: Array("GET /12345".utf8)) // exactly 10 bytes: still fine
        guard case .needMoreData = parser.next() else {
            Issue.record("10 bytes must still fit")
            return
        }
        parser.append(contentsOf: [0x36])
        guard case .failed(let error) = parser.next() else {
            Issue.record("expected 414 at the 11th byte")
            return
        }
        #expect(error.status == 414)
    }

    @Test("a failure is terminal and later bytes are ignored")
    func failureIsTerminal() {
        var parser = RequestParser()
        parser.append(contentsOf: Array("GET / HTTP/1.1\r\nHost : a\r\n\r\n".utf8))
        guard case .failed(let first) = parser.next() else {
            Issue.record("expected a failure")
            return
        }
        parser.append(contentsOf: Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        guard case .failed(let second) = parser.next() else {
            Issue.record("expected the same failure again")
            return
        }
        #expect(first == second)
        #expect(!parser.hasBufferedBytes)
        #expect(parser.bufferCapacity == 0)
    }

    @Test("error messages never echo the input")
    func messagesDoNotEcho() {
        let marker = "ZQXJ"
        let outcome = parseRequests("GET /\(marker)#x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(outcome.failure != nil)
        #expect(!(outcome.failure?.message.contains(marker) ?? true))
        #expect(!(outcome.failure?.description.contains(marker) ?? true))
    }

    @Test("HTTPMethod accepts tokens only")
    func methodTokens() {
        #expect(HTTPMethod(token: "PROPFIND")?.rawValue == "PROPFIND")
        #expect(HTTPMethod(token: "GET") == .get)
        #expect(HTTPMethod(token: "") == nil)
        #expect(HTTPMethod(token: "G T") == nil)
        #expect(HTTPMethod(token: "GÉT") == nil)
        #expect(HTTPMethod(token: "get") != .get)
    }
}
