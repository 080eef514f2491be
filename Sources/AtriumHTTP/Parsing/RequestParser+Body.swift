extension RequestParser {
    /// Waits for `length` body bytes, then takes them.
    mutating func readFixedBody(length: Int) -> Step {
        guard buffer.count - readIndex >= length else { return .needMoreData }
        body = Array(buffer[readIndex..<(readIndex + length)])
        consume(length)
        return .complete
    }

    /// Parses a chunk line: `chunk-size [chunk-ext] CRLF`.
    mutating func parseChunkLine() -> Step {
        let extensionLimit = limits.maxChunkExtensionBytes
        let sum = extensionLimit.addingReportingOverflow(ChunkLine.maxSizeDigits)
        let lineLimit = sum.overflow ? Int.max : sum.partialValue
        let start = readIndex
        switch scanLine(limit: lineLimit) {
        case .incomplete:
            return .needMoreData
        case .failed(let reason):
            return .fail(reason)
        case .tooLong:
            // Decided on the first lineLimit + 1 bytes: a broken size wins, else the extension is too long.
            let prefixEnd = start + min(lineLimit, buffer.count - start - 1) + 1
            let reason = buffer.withUnsafeBufferPointer { buf in
                ChunkLine.sizeError(UnsafeBufferPointer(rebasing: buf[start..<prefixEnd])) ?? .chunkExtensionTooLong
            }
            return .fail(reason)
        case .complete(let length, let end):
            let parsed: Result<Int, HTTPParseError> = buffer.withUnsafeBufferPointer { buf in
                Result { () throws(HTTPParseError) in
                    try ChunkLine.parse(UnsafeBufferPointer(rebasing: buf[start..<(start + length)]),
                                        maxExtensionBytes: extensionLimit)
                }
            }
            switch parsed {
            case .failure(let error):
                return .fail(error.reason)
            case .success(let size):
                consume(end - start)
                if size == 0 {
                    stage = .trailerLines
                    return .progress
                }
                guard size <= limits.maxBodyBytes - body.count else { return .fail(.chunkedBodyTooLarge) }
                stage = .chunkData(remaining: size)
                return .progress
            }
        }
    }

    /// Moves whatever chunk data is buffered into the body.
    mutating func readChunkData(remaining: Int) -> Step {
        let available = buffer.count - readIndex
        guard available > 0 else { return .needMoreData }
        let take = min(available, remaining)
        body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
        consume(take)
        if take == remaining {
            stage = .chunkDataEnd
            return .progress
        }
        stage = .chunkData(remaining: remaining - take)
        return .needMoreData
    }

    /// Requires the CRLF that ends chunk data, deciding at each byte as it arrives.
    mutating func readChunkDataEnd() -> Step {
        let available = buffer.count - readIndex
        guard available > 0 else { return .needMoreData }
        guard buffer[readIndex] == HTTPBytes.cr else { return .fail(.missingChunkDataCRLF) }
        guard available > 1 else { return .needMoreData }
        guard buffer[readIndex + 1] == HTTPBytes.lf else { return .fail(.missingChunkDataCRLF) }
        consume(2)
        stage = .chunkLine
        return .progress
    }
}
