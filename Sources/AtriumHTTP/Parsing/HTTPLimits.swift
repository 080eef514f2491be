/// Size limits applied while parsing a request.
///
/// They exist because every byte a client sends costs memory and CPU before a handler ever sees
/// it: without caps a single connection could make the server buffer an endless request line,
/// header block or body. Each limit maps to the status the server answers with (server.md).
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line (without its CRLF); beyond it `414`, decided as soon as that many
    /// bytes are buffered without a line end.
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Largest header block (field lines with their CRLFs; trailers count too); beyond it `431`.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Most header fields (trailer fields count too); beyond it `431`.
    public var maxHeaderCount: Int = 100
    /// Largest decoded body; beyond it `413`, decided from `Content-Length` before any body
    /// byte is read, or, for chunked bodies, from the chunk size that would pass it.
    public var maxBodyBytes: Int = 1 << 20
    /// Longest method token: the longest method the server serves (`OPTIONS`). A longer one is
    /// `400`, decided as soon as this many token bytes plus one arrive without a space (before,
    /// a long method ran into the request-line limit and got `414`, which is for the target).
    public var maxMethodBytes: Int = 7
    /// Longest chunk extension on one chunk line; beyond it `400`.
    public var maxChunkExtensionBytes: Int = 4 * 1024

    public init() {}
}
