/// What the router decided for a request: run a route's handler, or give an answer of its own.
///
/// It exists so that the HTTP rules about routes (404 for no route, 405 with `Allow`, the
/// `OPTIONS` answers, `TRACE` and `CONNECT`) live with the routes, in the router, and the event
/// loop only sends whatever was decided.
public enum RoutingDecision: Sendable {
    /// A route takes the request; `parameters` are its decoded path parameters.
    case route(Route, parameters: [(name: String, value: String)])
    /// The router answers the request itself.
    case answer(RoutingAnswer)
}

/// An answer the router gives without a handler.
public struct RoutingAnswer: Sendable, Equatable {
    /// The status, e.g. 404, 405 or 204.
    public let status: Int
    /// The `Allow` header's value, when the answer names the methods a target takes.
    public let allow: String?
    /// The error the body carries, nil for an answer without a body (204).
    public let error: ErrorCode?
    /// Human text for the error body; never contains client input.
    public let message: String

    public init(status: Int, allow: String? = nil, error: ErrorCode?, message: String = "") {
        self.status = status
        self.allow = allow
        self.error = error
        self.message = message
    }

    /// No route has this path.
    public static let notFound = RoutingAnswer(status: 404, error: .notFound, message: "No such route.")
    /// `TRACE` is never served (it would echo credentials back to scripts).
    public static let traceNotAllowed = RoutingAnswer(
        status: 405, allow: "OPTIONS", error: .methodNotAllowed, message: "TRACE is not supported.")
    /// `CONNECT`: tunnels are not implemented. The parser refuses CONNECT first (its
    /// authority-form target is no path); this covers any that would get this far.
    public static let connectNotImplemented = RoutingAnswer(
        status: 501, error: .notImplemented, message: "CONNECT is not implemented.")
    /// `OPTIONS *`: what the server as a whole takes.
    public static let serverOptions = RoutingAnswer(
        status: 204, allow: "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT", error: nil)

    /// The path exists but not for this method: `OPTIONS` gets 204, others 405, both with
    /// `Allow` (which always lists OPTIONS).
    static func methodNotAllowed(_ method: HTTPMethod, allowed: [String]) -> RoutingAnswer {
        var allow = allowed
        if !allow.contains("OPTIONS") { allow.append("OPTIONS") }
        let value = allow.sorted().joined(separator: ", ")
        if method == .options { return RoutingAnswer(status: 204, allow: value, error: nil) }
        return RoutingAnswer(status: 405, allow: value, error: .methodNotAllowed,
                             message: "Method not allowed on this route.")
    }
}

extension Router {
    /// Decides what a request gets: the matching route, or the router's own answer. A path no
    /// route has, asked with CONNECT, is 501 rather than 404 (no CONNECT route is declared).
    public func decide(method: HTTPMethod, path: String) -> RoutingDecision {
        switch match(method: method, path: path) {
        case .matched(let route, let parameters):
            return .route(route, parameters: parameters)
        case _ where method == .connect:
            return .answer(.connectNotImplemented)
        case .notFound where method == .trace:
            return .answer(.traceNotAllowed)
        case .notFound where method == .options && path == "*":
            return .answer(.serverOptions)
        case .notFound:
            return .answer(.notFound)
        case .methodNotAllowed(let allowed):
            return .answer(.methodNotAllowed(method, allowed: allowed))
        }
    }
}
