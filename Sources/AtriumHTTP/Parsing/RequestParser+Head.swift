extension RequestParser {
    /// Skips a few empty lines, then parses the request line.
    mutating func parseRequestLine() -> Step {
        if methodRunsTooLong() { return .fail(.methodTooLong) }
        switch scanLine(limit: limits.maxRequestLineBytes) {
        case .incomplete:
            return .needMoreData
        case .tooLong:
            return .fail(.requestLineTooLong)
        case .failed(let reason):
            return .fail(reason)
        case .complete(let length, let end):
            if length == 0 {
                emptyLinesSkipped += 1
                guard emptyLinesSkipped <= Self.maxEmptyLinesBeforeRequest else { return .fail(.tooManyEmptyLines) }
                consume(end - readIndex)
                return .progress
            }
            let start = readIndex
            let parsed: Result<RequestHead, HTTPParseError> = buffer.withUnsafeBufferPointer { buf in
                Result { () throws(HTTPParseError) in
                    try RequestHead.parse(UnsafeBufferPointer(rebasing: buf[start..<(start + length)]))
                }
            }
            switch parsed {
            case .success(let line):
                head = line
                consume(end - start)
                stage = .fieldLines
                return .progress
            case .failure(let error):
                return .fail(error.reason)
            }
        }
    }

    /// Whether the line at `readIndex` starts with more than `maxMethodBytes` token bytes: a
    /// method longer than any served. Decided at byte `maxMethodBytes + 1` of the line, so the
    /// answer does not depend on how the bytes were split (a line with a space, CR, LF or other
    /// non-token byte within that reach is left to the request-line rules).
    private func methodRunsTooLong() -> Bool {
        let reach = limits.maxMethodBytes.addingReportingOverflow(1)
        guard !reach.overflow, buffer.count - readIndex >= reach.partialValue else { return false }
        for index in readIndex..<(readIndex + reach.partialValue) where !HTTPBytes.isTokenByte(buffer[index]) {
            return false
        }
        return true
    }

    /// Parses one header (or trailer) field line, or the empty line that ends the block.
    mutating func parseFieldLine(isTrailer: Bool) -> Step {
        // Field lines count with their CRLF, so a line fits while content + 2 <= what is left.
        let remaining = limits.maxHeaderBytes.subtractingReportingOverflow(fieldBytes)
        let limit = remaining.overflow ? -1 : remaining.partialValue.subtractingReportingOverflow(2).partialValue
        switch scanLine(limit: limit) {
        case .incomplete:
            return .needMoreData
        case .tooLong:
            return .fail(.headerBlockTooLarge)
        case .failed(let reason):
            return .fail(reason)
        case .complete(let length, let end):
            let start = readIndex
            if length == 0 {
                consume(end - start)
                return isTrailer ? .complete : finishHead()
            }
            let parsed: Result<FieldLine, HTTPParseError> = buffer.withUnsafeBufferPointer { buf in
                Result { () throws(HTTPParseError) in
                    try FieldLine.parse(UnsafeBufferPointer(rebasing: buf[start..<(start + length)]))
                }
            }
            switch parsed {
            case .success(let field):
                fieldCount += 1
                guard fieldCount <= limits.maxHeaderCount else { return .fail(.tooManyHeaderFields) }
                // Cannot overflow: the scan limit kept length + 2 within maxHeaderBytes - fieldBytes.
                fieldBytes += length + 2
                if !isTrailer {
                    fields.append(
                        from: buffer,
                        name: (start + field.name.lowerBound)..<(start + field.name.upperBound),
                        value: (start + field.value.lowerBound)..<(start + field.value.upperBound),
                        expectedBytes: min(buffer.count - start, 1024)
                    )
                }
                consume(end - start)
                return .progress
            case .failure(let error):
                return .fail(error.reason)
            }
        }
    }

    /// Checks the header block as a whole and picks the body framing (RFC 9112 §6).
    private mutating func finishHead() -> Step {
        guard var line = head else { return .fail(.invalidRequestLine) }
        let framing: HeadFraming
        switch HeadFraming.check(fields, version: line.version, limits: limits) {
        case .success(let result): framing = result
        case .failure(let error): return .fail(error.reason)
        }
        line.keepAlive = framing.keepAlive
        head = line
        switch framing.body {
        case .none:
            return .complete
        case .length(let length):
            if framing.expectsContinue, length > 0 { continueState = .pending }
            stage = .fixedBody(length: length)
            return .progress
        case .chunked:
            if framing.expectsContinue { continueState = .pending }
            stage = .chunkLine
            return .progress
        }
    }
}
