/// Why a document was refused by `JSONParser`.
///
/// A value rather than an enum of cases so that callers map every parse failure to one
/// `400 INVALID_JSON` without switching, while logs and tests still see where and why.
public struct JSONError: Error, Sendable, Equatable {
    /// Byte offset into the input where the problem was found.
    public var offset: Int
    /// A short, stable description, e.g. "duplicate key", "unexpected end", "invalid UTF-8",
    /// "nesting too deep". Never contains input text, so it is safe to log.
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
}
