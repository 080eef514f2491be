/// What `RequestParser.next()` found in the bytes buffered so far.
///
/// An event enum rather than a callback so the event loop drives the parser (pipelining is a
/// loop over `next()`), and so a failure is a value it can answer and then close on.
public enum RequestParserEvent: Sendable {
    /// A complete request: head and whole body.
    case request(HTTPRequest)
    /// The head is complete and valid, asked for `Expect: 100-continue` (HTTP/1.1), and its body
    /// is not all here yet: the server sends `100 Continue`. At most once per request.
    case continueExpected
    /// Nothing more can be decided until more bytes arrive.
    case needMoreData
    /// The request was refused. Terminal: every later `next()` returns the same failure.
    case failed(HTTPParseError)
}
