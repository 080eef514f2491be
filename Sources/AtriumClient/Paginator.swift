import Foundation

/// A cursor-paginated list as an `AsyncSequence` of its items; `pages` walks the same list page
/// by page with each page's cursor and request id. Pages are fetched as the sequence is
/// iterated, one request per page; cancelling the iterating task stops fetching.
public struct Paginator<Item: Decodable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Item
    let fetch: @Sendable (_ cursor: String?) async throws -> Page<Item>

    init(fetch: @escaping @Sendable (String?) async throws -> Page<Item>) {
        self.fetch = fetch
    }

    /// The pages, in order.
    public var pages: PageSequence<Item> { PageSequence(fetch: fetch) }

    /// The first `count` items (fewer if the list is shorter).
    public func first(_ count: Int) async throws -> [Item] {
        var items: [Item] = []
        guard count > 0 else { return items }
        for try await item in self {
            items.append(item)
            if items.count == count { break }  // before asking for more: no extra page
        }
        return items
    }

    /// Every item.
    public func all() async throws -> [Item] { try await first(.max) }

    public func makeAsyncIterator() -> Iterator { Iterator(pages: pages.makeAsyncIterator()) }

    public struct Iterator: AsyncIteratorProtocol {
        var pages: PageSequence<Item>.Iterator
        var buffer: [Item] = []
        var index = 0

        public mutating func next() async throws -> Item? {
            while index == buffer.count {
                guard let page = try await pages.next() else { return nil }
                buffer = page.data
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }
}

/// The pages of a list.
public struct PageSequence<Item: Decodable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Page<Item>
    let fetch: @Sendable (String?) async throws -> Page<Item>

    public func makeAsyncIterator() -> Iterator { Iterator(fetch: fetch) }

    public struct Iterator: AsyncIteratorProtocol {
        let fetch: @Sendable (String?) async throws -> Page<Item>
        var cursor: String?
        var done = false

        public mutating func next() async throws -> Page<Item>? {
            guard !done else { return nil }
            try Task.checkCancellation()
            let page = try await fetch(cursor)
            cursor = page.nextCursor
            done = page.nextCursor == nil
            return page
        }
    }
}

extension AtriumClient {
    func paginate<Item: Decodable & Sendable>(
        _ operation: APIOperation, path: String, query: [URLQueryItem], pageSize: Int?, fanOut: Bool,
        options: RequestOptions
    ) -> Paginator<Item> {
        Paginator { [self] cursor in
            var query = query
            if let pageSize { query.append(URLQueryItem(name: "limit", value: String(pageSize))) }
            if let cursor { query.append(URLQueryItem(name: "cursor", value: cursor)) }
            let answer = try await exchange(operation, path: path, query: query, body: nil as Empty?, ifMatch: nil,
                                            fanOut: fanOut, options: options)
            do {
                var page = try Timestamps.decoder().decode(Page<Item>.self, from: answer.body)
                page.requestID = answer.headers["x-request-id"]
                return page
            } catch {
                throw AtriumError.transport(.invalidResponse("\(operation.id): \(error)"))
            }
        }
    }
}
