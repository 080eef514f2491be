/// The grammar of one chunk line (RFC 9112 §7.1), on bytes.
enum ChunkLine {
    /// Hex digits allowed in a chunk size, leading zeros included.
    static let maxSizeDigits = 64

    /// The size error of a line (or of a line's first bytes), nil when its size part is fine.
    static func sizeError(_ line: UnsafeBufferPointer<UInt8>) -> HTTPParseError.Reason? {
        switch parseSize(line) {
        case .success: nil
        case .failure(let error): error.reason
        }
    }

    /// Parses `chunk-size [chunk-ext]` (without CRLF) and returns the size.
    static func parse(_ line: UnsafeBufferPointer<UInt8>, maxExtensionBytes: Int) throws(HTTPParseError) -> Int {
        let (size, digits) = try parseSize(line).get()
        let n = line.count
        guard n - digits <= maxExtensionBytes else { throw HTTPParseError(.chunkExtensionTooLong) }
        try validateExtensions(line, from: digits)
        return size
    }

    /// The leading hex size and how many digits it used.
    private static func parseSize(_ line: UnsafeBufferPointer<UInt8>) -> Result<(Int, Int), HTTPParseError> {
        var size = 0
        var overflow = false
        var i = 0
        while i < line.count, let digit = HTTPBytes.hexValue(line[i]) {
            guard i < maxSizeDigits else { return .failure(HTTPParseError(.invalidChunkSize)) }
            let shifted = size.multipliedReportingOverflow(by: 16)
            let added = shifted.partialValue.addingReportingOverflow(digit)
            overflow = overflow || shifted.overflow || added.overflow
            size = added.partialValue
            i += 1
        }
        if i == 0 { return .failure(HTTPParseError(.invalidChunkSize)) }
        if overflow { return .failure(HTTPParseError(.chunkSizeOverflow)) }
        return .success((size, i))
    }

    /// `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`; whitespace is accepted only before
    /// ";" or "=" or after them, never trailing.
    private static func validateExtensions(_ line: UnsafeBufferPointer<UInt8>,
                                           from digits: Int) throws(HTTPParseError) {
        let n = line.count
        var j = digits
        while j < n {
            var k = j
            while k < n, HTTPBytes.isWhitespace(line[k]) { k += 1 }
            guard k < n, line[k] == HTTPBytes.semicolon else {
                throw HTTPParseError(j == digits ? .invalidChunkSize : .invalidChunkExtension)
            }
            j = k + 1
            while j < n, HTTPBytes.isWhitespace(line[j]) { j += 1 }
            let nameStart = j
            while j < n, HTTPBytes.isTokenByte(line[j]) { j += 1 }
            guard j > nameStart else { throw HTTPParseError(.invalidChunkExtension) }
            k = j
            while k < n, HTTPBytes.isWhitespace(line[k]) { k += 1 }
            guard k < n, line[k] == 0x3D else { continue } // "="
            j = k + 1
            while j < n, HTTPBytes.isWhitespace(line[j]) { j += 1 }
            guard j < n else { throw HTTPParseError(.invalidChunkExtension) }
            if line[j] == 0x22 {
                j = try skipQuotedString(line, from: j)
            } else {
                let valueStart = j
                while j < n, HTTPBytes.isTokenByte(line[j]) { j += 1 }
                guard j > valueStart else { throw HTTPParseError(.invalidChunkExtension) }
            }
        }
    }

    /// Skips `DQUOTE *( qdtext / quoted-pair ) DQUOTE` starting at the opening quote.
    private static func skipQuotedString(_ line: UnsafeBufferPointer<UInt8>,
                                         from start: Int) throws(HTTPParseError) -> Int {
        var j = start + 1
        while j < line.count {
            let b = line[j]
            if b == 0x22 { return j + 1 }
            if b == 0x5C { // backslash: quoted-pair
                guard j + 1 < line.count, HTTPBytes.isFieldValueByte(line[j + 1]) else {
                    throw HTTPParseError(.invalidChunkExtension)
                }
                j += 2
                continue
            }
            guard HTTPBytes.isFieldValueByte(b) else { throw HTTPParseError(.invalidChunkExtension) }
            j += 1
        }
        throw HTTPParseError(.invalidChunkExtension)
    }
}
