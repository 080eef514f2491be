/// One endpoint's logic. Synchronous on purpose: handlers run on the worker pool (or, when
/// they never block, on the event loop) and return their response directly.
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest, context: RequestContext) -> HTTPResponse
}

/// A handler made from a closure.
public struct ClosureHandler: HTTPHandler {
    private let body: @Sendable (HTTPRequest, RequestContext) -> HTTPResponse
    public init(_ body: @escaping @Sendable (HTTPRequest, RequestContext) -> HTTPResponse) {
        self.body = body
    }
    public func handle(_ request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        body(request, context)
    }
}

/// Where a route's handler runs.
public enum HandlerPlacement: Sendable {
    /// On the event loop: for handlers that never block (health, metrics).
    case eventLoop
    /// On the shared worker pool: anything that touches the store.
    case workerPool
    /// On a dedicated pool, so that a flood of one kind of work (password hashing) cannot
    /// occupy the threads every other request needs.
    case dedicatedPool(WorkerPool)
}
