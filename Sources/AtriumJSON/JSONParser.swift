/// A strict RFC 8259 parser working on raw bytes.
///
/// Request bodies arrive as bytes; parsing them without a `String`/`Data` detour keeps the
/// request path cheap, and strictness (no comments, trailing commas, leading zeros, `NaN`,
/// invalid UTF-8, lone surrogates or — by default — duplicate keys) means two parsers can never
/// disagree about what a document says, which matters for signed tokens and for
/// security-relevant fields.
public enum JSONParser {
    /// Depth limits above this are lowered to it: the parser recurses once per level and
    /// must not exhaust a thread's stack whatever the caller passes.
    public static let maximumSupportedDepth = 512

    /// Parses one JSON value, optionally surrounded by whitespace.
    ///
    /// - Parameters:
    ///   - maxDepth: how many arrays/objects may nest; `[[1]]` has depth 2.
    ///   - rejectDuplicateKeys: refuse an object naming a key twice (compared after
    ///     unescaping); when `false` the last value wins.
    public static func parse(
        _ bytes: [UInt8], maxDepth: Int = 64, rejectDuplicateKeys: Bool = true
    ) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> JSONValue in
                try parse(buffer, maxDepth: maxDepth, rejectDuplicateKeys: rejectDuplicateKeys)
            }
        }
        return try result.get()
    }

    /// Parses one JSON value from memory the caller owns for the duration of the call.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64, rejectDuplicateKeys: Bool = true
    ) throws(JSONError) -> JSONValue {
        var reader = JSONReader(
            bytes: bytes,
            maxDepth: min(max(maxDepth, 0), maximumSupportedDepth),
            rejectDuplicateKeys: rejectDuplicateKeys
        )
        reader.skipWhitespace()
        let value = try reader.readValue(depth: 0)
        reader.skipWhitespace()
        guard reader.position == bytes.count else {
            throw JSONError(offset: reader.position, message: "trailing characters")
        }
        return value
    }
}
