/// What a complete header block says about the message: its body framing, whether the
/// connection stays open, and whether the client waits for `100 Continue`.
///
/// Decided in one pass over the fields, on bytes, in a fixed order of rules (Host,
/// Transfer-Encoding vs HTTP/1.0, Content-Length vs Transfer-Encoding, Content-Length syntax,
/// transfer coding, Expect, body size) so each malformed head has exactly one answer.
struct HeadFraming: Sendable, Equatable {
    enum Body: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
    }

    var body: Body
    var keepAlive: Bool
    var expectsContinue: Bool

    static func check(
        _ fields: HTTPFields, version: HTTPVersion, limits: HTTPLimits
    ) -> Result<HeadFraming, HTTPParseError> {
        Result { () throws(HTTPParseError) in try check(fields, version: version, limits: limits) }
    }

    private static func check(
        _ fields: HTTPFields, version: HTTPVersion, limits: HTTPLimits
    ) throws(HTTPParseError) -> HeadFraming {
        var hostCount = 0
        var hostValid = true
        var contentLengthCount = 0
        var contentLengthIndex = 0
        var transferEncodingCount = 0
        var transferCodings = TransferCodings()
        var expectsContinue = false
        var unsupportedExpectation = false
        var connectionClose = false
        var connectionKeepAlive = false

        for index in 0..<fields.count {
            fields.withField(at: index) { name, value in
                switch name.count {
                case 4 where HTTPBytes.equalsIgnoringCase(name, "host"):
                    hostCount += 1
                    hostValid = hostValid && RequestTarget.isValidAuthority(value)
                case 6 where HTTPBytes.equalsIgnoringCase(name, "expect"):
                    if HTTPBytes.equalsIgnoringCase(value, "100-continue") {
                        expectsContinue = true
                    } else {
                        unsupportedExpectation = true
                    }
                case 10 where HTTPBytes.equalsIgnoringCase(name, "connection"):
                    forEachListElement(value) { token in
                        if HTTPBytes.equalsIgnoringCase(token, "close") { connectionClose = true }
                        if HTTPBytes.equalsIgnoringCase(token, "keep-alive") { connectionKeepAlive = true }
                    }
                case 14 where HTTPBytes.equalsIgnoringCase(name, "content-length"):
                    contentLengthCount += 1
                    contentLengthIndex = index
                case 17 where HTTPBytes.equalsIgnoringCase(name, "transfer-encoding"):
                    transferEncodingCount += 1
                    // Several fields are one list, in order (RFC 9110 §5.3).
                    forEachListElement(value) { transferCodings.add($0) }
                default:
                    break
                }
            }
        }

        if hostCount > 1 { throw HTTPParseError(.multipleHost) }
        if hostCount == 0, version == .http11 { throw HTTPParseError(.missingHost) }
        if !hostValid { throw HTTPParseError(.invalidHost) }
        if transferEncodingCount > 0, version == .http10 { throw HTTPParseError(.transferEncodingInHTTP10) }
        if transferEncodingCount > 0, contentLengthCount > 0 {
            throw HTTPParseError(.contentLengthWithTransferEncoding)
        }
        if contentLengthCount > 1 { throw HTTPParseError(.multipleContentLength) }
        var body = Body.none
        if contentLengthCount == 1 {
            let length = try fields.withField(at: contentLengthIndex) { _, value in
                Result { () throws(HTTPParseError) in try parseContentLength(value) }
            }.get()
            body = .length(length)
        }
        if transferEncodingCount > 0 {
            // RFC 9112 §6.3: without `chunked` last the body's end cannot be found (400); a
            // coding we do not implement before it cannot be undone (501).
            guard transferCodings.finalIsChunked else { throw HTTPParseError(.finalCodingNotChunked) }
            guard transferCodings.isLoneChunked else { throw HTTPParseError(.unsupportedTransferEncoding) }
            body = .chunked
        }
        if unsupportedExpectation { throw HTTPParseError(.unsupportedExpectation) }
        if case .length(let length) = body, length > limits.maxBodyBytes {
            throw HTTPParseError(.contentLengthTooLarge)
        }
        let keepAlive: Bool
        switch version {
        case .http11: keepAlive = !connectionClose
        case .http10: keepAlive = connectionKeepAlive && !connectionClose
        }
        // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
        return HeadFraming(body: body, keepAlive: keepAlive, expectsContinue: expectsContinue && version == .http11)
    }

    /// `1*DIGIT` with checked arithmetic; a comma means a list of values, which is refused
    /// even when the values are equal.
    private static func parseContentLength(_ value: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        if value.contains(HTTPBytes.comma) { throw HTTPParseError(.multipleContentLength) }
        guard !value.isEmpty else { throw HTTPParseError(.invalidContentLength) }
        var result = 0
        for b in value {
            guard HTTPBytes.isDigit(b) else { throw HTTPParseError(.invalidContentLength) }
            let shifted = result.multipliedReportingOverflow(by: 10)
            let added = shifted.partialValue.addingReportingOverflow(Int(b &- 0x30))
            if shifted.overflow || added.overflow { throw HTTPParseError(.contentLengthOverflow) }
            result = added.partialValue
        }
        return result
    }

    /// Calls `body` with each OWS-trimmed, non-empty element of a comma-separated list.
    private static func forEachListElement(
        _ value: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != HTTPBytes.comma { end += 1 }
            var lower = start
            var upper = end
            while lower < upper, HTTPBytes.isWhitespace(value[lower]) { lower += 1 }
            while upper > lower, HTTPBytes.isWhitespace(value[upper - 1]) { upper -= 1 }
            if lower < upper { body(UnsafeBufferPointer(rebasing: value[lower..<upper])) }
            start = end + 1
        }
    }
}

/// What the `Transfer-Encoding` list says, element by element, without keeping the values:
/// how many codings it names, whether the last one is `chunked`, and whether that one carries
/// parameters (`chunked;q=1`: chunked last, but not a form we implement).
private struct TransferCodings {
    private(set) var count = 0
    private(set) var finalIsChunked = false
    private(set) var finalHasParameters = false

    /// Only one lone `chunked` is decoded.
    var isLoneChunked: Bool { count == 1 && finalIsChunked && !finalHasParameters }

    mutating func add(_ coding: UnsafeBufferPointer<UInt8>) {
        count += 1
        var nameEnd = coding.firstIndex(of: UInt8(ascii: ";")) ?? coding.count
        finalHasParameters = nameEnd < coding.count
        while nameEnd > 0, HTTPBytes.isWhitespace(coding[nameEnd - 1]) { nameEnd -= 1 }
        finalIsChunked = HTTPBytes.equalsIgnoringCase(UnsafeBufferPointer(rebasing: coding[0..<nameEnd]), "chunked")
    }
}
