/// One endpoint's logic. Synchronous by default: handlers run on the worker pool (or, when
/// they never block, on the event loop) and return their response directly.
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest, context: RequestContext) -> HTTPResponse
    /// The form the worker pool calls. A handler may keep `responder` and answer later from
    /// another thread (freeing the worker while, say, a group commit runs); the default
    /// answers at once with `handle(_:context:)`.
    func handle(_ request: HTTPRequest, context: RequestContext, responder: HTTPResponder)
}

extension HTTPHandler {
    public func handle(_ request: HTTPRequest, context: RequestContext, responder: HTTPResponder) {
        responder.respond(handle(request, context: context))
    }
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
