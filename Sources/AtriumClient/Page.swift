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
