#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Incremental HTTP/1.1 request parser for one connection (RFC 9112).
///
/// The event loop appends whatever bytes a read returned and calls `next()` until it says
/// `needMoreData`; pipelined requests come out one per call. It exists, hand-rolled, because
/// the server's speed and its resistance to request smuggling both live here: it works on raw
/// bytes, remembers where it stopped scanning (bytes arriving one at a time cost O(n) in all),
/// refuses every ambiguous framing, and decides each rule at a fixed byte position so the
/// same bytes give the same result however the network splits them.
///
/// Memory: bytes are kept only while a request is incomplete. Once a request is handed out and
/// nothing else is buffered, the parser holds no buffer capacity, so an idle keep-alive
/// connection costs only this struct.
public struct RequestParser: Sendable {
    /// Where the parser is in the current request; the server picks its timeout from it.
    public enum Phase: Sendable, Equatable {
        /// No byte of a next request is buffered (idle keep-alive timeout).
        case idle
        /// Reading a request line or header block (header timeout).
        case head
        /// Head parsed, body incomplete (body timeout).
        case body
    }

    /// What the parser expects next on the wire.
    enum Stage: Sendable {
        case requestLine
        case fieldLines
        case fixedBody(length: Int)
        case chunkLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailerLines
        case failed(HTTPParseError)
    }

    /// Whether a `100 Continue` is owed for the current request.
    enum ContinueState: Sendable {
        case notExpected, pending, sent
    }

    /// Result of looking for the end of the line that starts at `readIndex`.
    enum LineScan {
        /// `length` content bytes (without CRLF); the next line starts at `end`.
        case complete(length: Int, end: Int)
        case incomplete
        /// More content bytes than the caller's limit.
        case tooLong
        case failed(HTTPParseError.Reason)
    }

    /// How many empty lines before a request line are skipped (RFC 9112 §2.2 robustness).
    static let maxEmptyLinesBeforeRequest = 4

    let limits: HTTPLimits
    /// Received bytes; those before `readIndex` are consumed and dropped at the next compaction.
    var buffer: [UInt8] = []
    var readIndex = 0
    /// Bytes of the line at `readIndex` already scanned without finding its end.
    var scanned = 0
    var stage: Stage = .requestLine
    var emptyLinesSkipped = 0
    /// The request line and framing of the request being parsed, once known.
    var head: RequestHead?
    var fields = HTTPFields()
    /// Bytes (with CRLFs) and number of header and trailer fields so far.
    var fieldBytes = 0
    var fieldCount = 0
    var body: [UInt8] = []
    var continueState: ContinueState = .notExpected

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    // MARK: Input

    /// Buffers bytes read from the connection. Ignored after a failure.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        bytes.withMemoryRebound(to: UInt8.self) { typed in
            appendBytes(typed)
        }
    }

    /// Buffers bytes read from the connection. Ignored after a failure.
    public mutating func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { appendBytes($0) }
    }

    private mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>) {
        if case .failed = stage { return }
        guard !bytes.isEmpty else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 0, readIndex >= buffer.count - readIndex {
            // Drop the consumed prefix once it is at least half the buffer: amortised O(1) per byte.
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    // MARK: State

    /// Where the parser is; `idle` after a failure too (the connection is to be closed).
    public var phase: Phase {
        switch stage {
        case .requestLine:
            return hasBufferedBytes || emptyLinesSkipped > 0 ? .head : .idle
        case .fieldLines:
            return .head
        case .fixedBody, .chunkLine, .chunkData, .chunkDataEnd, .trailerLines:
            return .body
        case .failed:
            return .idle
        }
    }

    /// Whether unconsumed bytes are buffered.
    public var hasBufferedBytes: Bool { readIndex < buffer.count }

    /// How many unconsumed bytes are buffered (lets the server pause reading a pipelining client).
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Capacity of the byte buffer, for memory accounting and tests (0 when idle).
    public var bufferCapacity: Int { buffer.capacity }

    // MARK: Parsing

    /// Parses as far as the buffered bytes allow and reports what it found.
    public mutating func next() -> RequestParserEvent {
        while true {
            let step: Step
            switch stage {
            case .failed(let error):
                return .failed(error)
            case .requestLine:
                step = parseRequestLine()
            case .fieldLines:
                step = parseFieldLine(isTrailer: false)
            case .trailerLines:
                step = parseFieldLine(isTrailer: true)
            case .fixedBody(let length):
                step = readFixedBody(length: length)
            case .chunkLine:
                step = parseChunkLine()
            case .chunkData(let remaining):
                step = readChunkData(remaining: remaining)
            case .chunkDataEnd:
                step = readChunkDataEnd()
            }
            switch step {
            case .progress:
                continue
            case .needMoreData:
                if continueState == .pending {
                    continueState = .sent
                    return .continueExpected
                }
                if case .requestLine = stage, !hasBufferedBytes {
                    releaseBuffer()
                }
                return .needMoreData
            case .fail(let reason):
                return fail(reason)
            case .complete:
                return .request(finishRequest())
            }
        }
    }

    /// Outcome of one parsing step.
    enum Step {
        case progress
        case needMoreData
        case fail(HTTPParseError.Reason)
        case complete
    }

    /// Marks `count` bytes from `readIndex` consumed and starts a new line there.
    @inline(__always)
    mutating func consume(_ count: Int) {
        readIndex += count
        scanned = 0
    }

    /// Finds the end of the line at `readIndex`, resuming where the previous call stopped.
    /// CR must be followed by LF and LF preceded by CR; these and the limit are decided at the
    /// byte that breaks them, whatever the split of the input: the result is the one a byte-wise
    /// walk would give, found with `memchr`.
    mutating func scanLine(limit: Int) -> LineScan {
        let start = readIndex
        let from = start + scanned
        let (result, newScanned): (LineScan, Int) = buffer.withUnsafeBufferPointer { buf in
            Self.scan(buf, start: start, from: from, limit: limit)
        }
        scanned = newScanned
        return result
    }

    /// The line scan on raw memory; returns the result and how far the line is now scanned.
    /// Invariant on entry: bytes `start..<from` hold no LF, no CR except possibly the last one,
    /// and at most `limit` content bytes.
    private static func scan(_ buf: UnsafeBufferPointer<UInt8>, start: Int, from: Int, limit: Int) -> (LineScan, Int) {
        let count = buf.count
        let limit = Swift.max(limit, 0) // a negative budget still admits an empty line
        guard from < count, let base = buf.baseAddress else { return (.incomplete, from - start) }
        // A CR that ended the previous scan is decided by the byte after it.
        if from > start, buf[from - 1] == HTTPBytes.cr {
            if buf[from] == HTTPBytes.lf { return (.complete(length: from - 1 - start, end: from + 1), 0) }
            return (.failed(.bareCarriageReturn), 0)
        }
        let lf = find(HTTPBytes.lf, base, from, count)
        let cr = find(HTTPBytes.cr, base, from, lf ?? count)
        if let cr {
            // Content bytes before the CR may already pass the limit.
            if cr - start > limit { return (.tooLong, 0) }
            guard cr + 1 < count else { return (.incomplete, cr + 1 - start) }
            if buf[cr + 1] == HTTPBytes.lf { return (.complete(length: cr - start, end: cr + 2), 0) }
            return (.failed(.bareCarriageReturn), 0)
        }
        if let lf {
            if lf - start > limit { return (.tooLong, 0) }
            return (.failed(.bareLineFeed), 0)
        }
        if count - start > limit { return (.tooLong, 0) }
        return (.incomplete, count - start)
    }

    /// Index of the first `byte` in `base[from..<end]`, nil if none.
    @inline(__always)
    private static func find(_ byte: UInt8, _ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int? {
        guard from < end, let hit = memchr(base + from, Int32(byte), end - from) else { return nil }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    private mutating func fail(_ reason: HTTPParseError.Reason) -> RequestParserEvent {
        let error = HTTPParseError(reason)
        stage = .failed(error)
        buffer = []
        readIndex = 0
        scanned = 0
        head = nil
        fields = HTTPFields()
        body = []
        continueState = .notExpected
        return .failed(error)
    }

    private mutating func releaseBuffer() {
        buffer = []
        readIndex = 0
        scanned = 0
    }

    /// Builds the request and resets per-request state, keeping pipelined bytes.
    private mutating func finishRequest() -> HTTPRequest {
        // `head` is always set when a body stage or the end of the head completes a request.
        let line = head ?? RequestHead.placeholder
        let request = HTTPRequest(
            method: line.method,
            version: line.version,
            target: line.target,
            path: line.path,
            query: line.query,
            headers: fields,
            body: body,
            keepAlive: line.keepAlive
        )
        head = nil
        fields = HTTPFields()
        body = []
        fieldBytes = 0
        fieldCount = 0
        emptyLinesSkipped = 0
        continueState = .notExpected
        stage = .requestLine
        if !hasBufferedBytes {
            releaseBuffer()
        }
        return request
    }
}
