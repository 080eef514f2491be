/// Why the parser refused a request, and the status the server answers with before closing.
///
/// A value rather than a thrown existential so the event loop can render the response without
/// allocating, and so tests can assert the exact rule that fired (`reason`), not only the status.
/// `message` never echoes client input, so it is safe to put in a response body.
public struct HTTPParseError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The HTTP status to answer with: 400, 413, 414, 417, 431, 501 or 505.
    public var status: Int
    /// The rule that was broken.
    public var reason: Reason
    /// Short human text, safe to send to the client.
    public var message: String

    public init(_ reason: Reason) {
        self.status = reason.status
        self.reason = reason
        self.message = reason.message
    }

    public var description: String { "\(status) \(reason): \(message)" }
}

extension HTTPParseError {
    /// One named rule per rejection. A struct around a private enum, so adding a rule later does
    /// not break code that switches over reasons (it compares with `==` instead).
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Code: String, Sendable {
            case bareLineFeed, bareCarriageReturn, tooManyEmptyLines
            case controlCharacterInRequestLine, invalidRequestLine, invalidMethod, methodTooLong
            case malformedVersion, unsupportedVersion, connectNotImplemented
            case invalidRequestTarget, asteriskFormWithoutOptions, requestLineTooLong
            case invalidFieldName, whitespaceBeforeColon, obsoleteLineFolding, invalidFieldValue
            case headerBlockTooLarge, tooManyHeaderFields
            case missingHost, multipleHost, invalidHost
            case invalidContentLength, multipleContentLength, contentLengthOverflow, contentLengthTooLarge
            case contentLengthWithTransferEncoding, transferEncodingInHTTP10, unsupportedTransferEncoding
            case finalCodingNotChunked
            case invalidChunkSize, chunkSizeOverflow, chunkExtensionTooLong, invalidChunkExtension
            case missingChunkDataCRLF, chunkedBodyTooLarge
            case unsupportedExpectation
        }

        private let code: Code

        private init(_ code: Code) { self.code = code }

        // MARK: Line structure (400)
        /// A line ended with LF alone.
        public static let bareLineFeed = Reason(.bareLineFeed)
        /// A CR not followed by LF.
        public static let bareCarriageReturn = Reason(.bareCarriageReturn)
        /// More empty lines before the request line than RFC 9112 §2.2 tolerance covers.
        public static let tooManyEmptyLines = Reason(.tooManyEmptyLines)

        // MARK: Request line
        /// A control character or NUL in the request line (400).
        public static let controlCharacterInRequestLine = Reason(.controlCharacterInRequestLine)
        /// Not `method SP target SP version` (400).
        public static let invalidRequestLine = Reason(.invalidRequestLine)
        /// The method is not a token (400).
        public static let invalidMethod = Reason(.invalidMethod)
        /// A method token longer than `maxMethodBytes`, the longest method served (400; not 414,
        /// which is for the target).
        public static let methodTooLong = Reason(.methodTooLong)
        /// The version is not `HTTP/DIGIT.DIGIT` (400).
        public static let malformedVersion = Reason(.malformedVersion)
        /// A well-formed version other than 1.0 and 1.1 (505).
        public static let unsupportedVersion = Reason(.unsupportedVersion)
        /// CONNECT: tunnels are not implemented (501).
        public static let connectNotImplemented = Reason(.connectNotImplemented)
        /// The request-target is not origin-form, absolute-form or `*` (400).
        public static let invalidRequestTarget = Reason(.invalidRequestTarget)
        /// `*` as target with a method other than OPTIONS (400).
        public static let asteriskFormWithoutOptions = Reason(.asteriskFormWithoutOptions)
        /// The request line passed `maxRequestLineBytes` (414).
        public static let requestLineTooLong = Reason(.requestLineTooLong)

        // MARK: Fields (400, 431)
        /// A field line whose name is empty, not a token, or that has no colon (400).
        public static let invalidFieldName = Reason(.invalidFieldName)
        /// Whitespace between a field name and its colon (400, a smuggling vector).
        public static let whitespaceBeforeColon = Reason(.whitespaceBeforeColon)
        /// A field line starting with SP or HTAB (obs-fold, 400).
        public static let obsoleteLineFolding = Reason(.obsoleteLineFolding)
        /// NUL or another control character (other than HTAB) in a field value (400).
        public static let invalidFieldValue = Reason(.invalidFieldValue)
        /// Header block (with trailers) larger than `maxHeaderBytes` (431).
        public static let headerBlockTooLarge = Reason(.headerBlockTooLarge)
        /// More fields (with trailers) than `maxHeaderCount` (431).
        public static let tooManyHeaderFields = Reason(.tooManyHeaderFields)

        // MARK: Host (400)
        /// HTTP/1.1 request without Host.
        public static let missingHost = Reason(.missingHost)
        /// More than one Host field.
        public static let multipleHost = Reason(.multipleHost)
        /// A Host value that is not `host[:port]`.
        public static let invalidHost = Reason(.invalidHost)

        // MARK: Framing
        /// Content-Length that is not a run of digits (400).
        public static let invalidContentLength = Reason(.invalidContentLength)
        /// Several Content-Length fields, or a list of values, even equal ones (400).
        public static let multipleContentLength = Reason(.multipleContentLength)
        /// Content-Length that does not fit in an Int (400).
        public static let contentLengthOverflow = Reason(.contentLengthOverflow)
        /// Content-Length above `maxBodyBytes`, refused before reading the body (413).
        public static let contentLengthTooLarge = Reason(.contentLengthTooLarge)
        /// Content-Length and Transfer-Encoding together (400, a smuggling vector).
        public static let contentLengthWithTransferEncoding = Reason(.contentLengthWithTransferEncoding)
        /// Transfer-Encoding on an HTTP/1.0 request (400).
        public static let transferEncodingInHTTP10 = Reason(.transferEncodingInHTTP10)
        /// A transfer coding we do not implement before a final `chunked`, or `chunked` with
        /// parameters (501).
        public static let unsupportedTransferEncoding = Reason(.unsupportedTransferEncoding)
        /// A `Transfer-Encoding` whose final coding is not `chunked`: the body's end cannot be
        /// found (RFC 9112 §6.3, 400, a smuggling vector).
        public static let finalCodingNotChunked = Reason(.finalCodingNotChunked)

        // MARK: Chunked body
        /// A chunk size that is missing or not hex (400).
        public static let invalidChunkSize = Reason(.invalidChunkSize)
        /// A chunk size that does not fit in an Int (400).
        public static let chunkSizeOverflow = Reason(.chunkSizeOverflow)
        /// A chunk line's extension longer than `maxChunkExtensionBytes` (400).
        public static let chunkExtensionTooLong = Reason(.chunkExtensionTooLong)
        /// A chunk extension that is not `;name[=value]` (400).
        public static let invalidChunkExtension = Reason(.invalidChunkExtension)
        /// Chunk data not followed by CRLF (400).
        public static let missingChunkDataCRLF = Reason(.missingChunkDataCRLF)
        /// The decoded chunked body would pass `maxBodyBytes` (413).
        public static let chunkedBodyTooLarge = Reason(.chunkedBodyTooLarge)

        // MARK: Expect
        /// An Expect value other than `100-continue` (417).
        public static let unsupportedExpectation = Reason(.unsupportedExpectation)

        public var description: String { code.rawValue }

        /// The status the server answers with.
        public var status: Int {
            switch code {
            case .requestLineTooLong: 414
            case .headerBlockTooLarge, .tooManyHeaderFields: 431
            case .contentLengthTooLarge, .chunkedBodyTooLarge: 413
            case .unsupportedExpectation: 417
            case .connectNotImplemented, .unsupportedTransferEncoding: 501
            case .unsupportedVersion: 505
            default: 400
            }
        }

        /// Short text for the response body; never contains client input.
        public var message: String {
            switch code {
            case .bareLineFeed: "Line ending without CR"
            case .bareCarriageReturn: "CR not followed by LF"
            case .tooManyEmptyLines: "Too many empty lines before the request line"
            case .controlCharacterInRequestLine: "Control character in the request line"
            case .invalidRequestLine: "Malformed request line"
            case .invalidMethod: "Invalid method"
            case .methodTooLong: "Method too long"
            case .malformedVersion: "Malformed HTTP version"
            case .unsupportedVersion: "HTTP version not supported"
            case .connectNotImplemented: "CONNECT is not implemented"
            case .invalidRequestTarget: "Invalid request target"
            case .asteriskFormWithoutOptions: "'*' target is only allowed with OPTIONS"
            case .requestLineTooLong: "Request line too long"
            case .invalidFieldName: "Invalid header field name"
            case .whitespaceBeforeColon: "Whitespace between header name and colon"
            case .obsoleteLineFolding: "Obsolete line folding is not allowed"
            case .invalidFieldValue: "Invalid character in header field value"
            case .headerBlockTooLarge: "Request header fields too large"
            case .tooManyHeaderFields: "Too many header fields"
            case .missingHost: "Missing Host header"
            case .multipleHost: "More than one Host header"
            case .invalidHost: "Invalid Host header"
            case .invalidContentLength: "Invalid Content-Length"
            case .multipleContentLength: "More than one Content-Length"
            case .contentLengthOverflow: "Content-Length too large to represent"
            case .contentLengthTooLarge: "Request body too large"
            case .contentLengthWithTransferEncoding: "Content-Length together with Transfer-Encoding"
            case .transferEncodingInHTTP10: "Transfer-Encoding is not allowed in HTTP/1.0"
            case .unsupportedTransferEncoding: "Only the 'chunked' transfer coding is implemented"
            case .finalCodingNotChunked: "The final transfer coding must be 'chunked'"
            case .invalidChunkSize: "Invalid chunk size"
            case .chunkSizeOverflow: "Chunk size too large to represent"
            case .chunkExtensionTooLong: "Chunk extension too long"
            case .invalidChunkExtension: "Invalid chunk extension"
            case .missingChunkDataCRLF: "Chunk data not followed by CRLF"
            case .chunkedBodyTooLarge: "Request body too large"
            case .unsupportedExpectation: "Unsupported expectation"
            }
        }
    }
}
