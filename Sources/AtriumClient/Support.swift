import Foundation

/// Which workspace a call acts in (api.md §3).
public enum WorkspaceSelection: Sendable, Equatable {
    /// `X-Workspace-ID: <id>`.
    case id(Int64)
    /// No header: the server resolves the caller's main workspace, whatever the client's default.
    case main
}

/// `workspaces=` on a fan-out list: every reachable workspace, or these.
public enum FanOut: Sendable, Equatable {
    case all
    case workspaces([Int64])

    var queryValue: String {
        switch self {
        case .all: "all"
        case .workspaces(let ids): ids.map(String.init).joined(separator: ",")
        }
    }
}

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

/// What one call may override of the client's defaults (stripe-python's RequestOptions).
public struct RequestOptions: Sendable {
    /// The workspace of this call; nil: the client's default where the contract reads one.
    public var workspace: WorkspaceSelection?
    /// The `Idempotency-Key` of a create; nil: the SDK makes one (reused on every attempt).
    public var idempotencyKey: String?
    /// `X-Request-ID` to send (1–128 of `[A-Za-z0-9._-]`).
    public var requestID: String?
    /// Retries after the first attempt; nil: the client's policy.
    public var maxRetries: Int?

    public init(workspace: WorkspaceSelection? = nil, idempotencyKey: String? = nil, requestID: String? = nil,
                maxRetries: Int? = nil) {
        self.workspace = workspace
        self.idempotencyKey = idempotencyKey
        self.requestID = requestID
        self.maxRetries = maxRetries
    }
}

/// One page of a list: its items, the cursor of the next page and the request that fetched it.
public struct Page<Item: Decodable & Sendable>: Decodable, Sendable {
    public var data: [Item]
    public var nextCursor: String?
    /// `X-Request-ID` of the page's response (set by the paginator).
    public var requestID: String?

    enum CodingKeys: String, CodingKey {
        case data
        case nextCursor = "next_cursor"
    }
}

/// A body or answer with nothing in it.
public struct Empty: Codable, Sendable {
    public init() {}
}

/// Percent-encodes one path segment.
enum PathSegment {
    static let allowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()

    static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    static func encode(_ value: Int64) -> String { String(value) }
}

/// RFC 3339 with milliseconds, as the contract writes timestamps; decoding also takes whole seconds.
enum Timestamps {
    static func decode(_ decoder: any Decoder) throws -> Date {
        let text = try decoder.singleValueContainer().decode(String.self)
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not RFC 3339: \(text)"))
    }

    static func encode(_ date: Date, _ encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom(decode)
        return decoder
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom(encode)
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

/// A request member that may be set, or cleared with an explicit JSON `null`; leaving the
/// optional `nil` omits it (the server keeps what it has): `WorkspaceUpdate(color: .null)`.
public enum Nullable<Wrapped: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    case null
    case value(Wrapped)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .null : .value(try container.decode(Wrapped.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .value(let value): try container.encode(value)
        }
    }
}
