/// One field line split into name and OWS-trimmed value (RFC 9112 §5).
struct FieldLine {
    var name: Range<Int>
    var value: Range<Int>

    /// Parses `field-name ":" OWS field-value OWS` (line without CRLF, at least one byte).
    static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> FieldLine {
        let n = line.count
        guard n > 0 else { throw HTTPParseError(.invalidFieldName) }
        if HTTPBytes.isWhitespace(line[0]) {
            throw HTTPParseError(.obsoleteLineFolding)
        }
        var i = 0
        while i < n, HTTPBytes.isTokenByte(line[i]) { i += 1 }
        guard i < n, i > 0 else { throw HTTPParseError(.invalidFieldName) }
        if line[i] != HTTPBytes.colon {
            if HTTPBytes.isWhitespace(line[i]) {
                var j = i
                while j < n, HTTPBytes.isWhitespace(line[j]) { j += 1 }
                if j < n, line[j] == HTTPBytes.colon { throw HTTPParseError(.whitespaceBeforeColon) }
            }
            throw HTTPParseError(.invalidFieldName)
        }
        let nameEnd = i
        var valueStart = i + 1
        while valueStart < n, HTTPBytes.isWhitespace(line[valueStart]) { valueStart += 1 }
        var valueEnd = n
        while valueEnd > valueStart, HTTPBytes.isWhitespace(line[valueEnd - 1]) { valueEnd -= 1 }
        for k in valueStart..<valueEnd where !HTTPBytes.isFieldValueByte(line[k]) {
            throw HTTPParseError(.invalidFieldValue)
        }
        return FieldLine(name: 0..<nameEnd, value: valueStart..<valueEnd)
    }
}
