/// An entity tag as the server sends it in `ETag` (`"<version>"`), for `If-Match`.
public struct ETag: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The header value, quotes included.
    public let value: String
    public init(rawHeader: String) { value = rawHeader }
    /// The tag of a record version.
    public init(version: Int64) { value = "\"\(version)\"" }
    /// `If-Match: *`: any current version.
    public static let any = ETag(rawHeader: "*")
    public var description: String { value }
}

extension Record {
    /// The record's entity tag, for `If-Match`.
    public var etag: ETag { ETag(version: version) }
}
