import Testing
@testable import AtriumHTTP

/// The router's own answers: what a request gets when no handler takes it.
@Suite("RouterDecision")
struct RouterDecisionTests {
    static let router: Router = {
        var builder = RouterBuilder()
        let ok = ClosureHandler { _, _ in HTTPResponse(status: 200) }
        builder.add(Route(method: .get, template: "/v1/items/{id}", handler: ok))
        builder.add(Route(method: .delete, template: "/v1/items/{id}", handler: ok))
        builder.add(Route(method: .post, template: "/v1/items", handler: ok))
        return builder.build()
    }()

    private func answer(_ method: HTTPMethod, _ path: String) -> RoutingAnswer? {
        if case .answer(let answer) = Self.router.decide(method: method, path: path) { return answer }
        return nil
    }

    @Test("a matching route is routed with its parameters; HEAD falls back to GET")
    func routes() {
        guard case .route(let route, let parameters) = Self.router.decide(method: .head, path: "/v1/items/7") else {
            Issue.record("not routed")
            return
        }
        #expect(route.method == .get)
        #expect(parameters.map(\.value) == ["7"])
    }

    @Test("no route: 404 NOT_FOUND")
    func notFound() {
        #expect(answer(.get, "/v1/nothing") == .notFound)
        #expect(answer(.get, "/v1/nothing")?.error == .notFound)
    }

    @Test("a method the path does not take: 405 with Allow listing the others, HEAD and OPTIONS")
    func methodNotAllowed() {
        let refused = answer(.put, "/v1/items/7")
        #expect(refused?.status == 405)
        #expect(refused?.error == .methodNotAllowed)
        #expect(refused?.allow == "DELETE, GET, HEAD, OPTIONS")
    }

    @Test("OPTIONS on a path: 204 with Allow and no body")
    func optionsOnAPath() {
        let options = answer(.options, "/v1/items")
        #expect(options?.status == 204)
        #expect(options?.allow == "OPTIONS, POST")
        #expect(options?.error == nil)
    }

    @Test("OPTIONS *: 204 with what the server takes")
    func optionsAsterisk() {
        #expect(answer(.options, "*") == .serverOptions)
    }

    @Test("TRACE: 405 wherever it goes (never echoed back)")
    func trace() {
        #expect(answer(.trace, "/v1/nothing") == .traceNotAllowed)
        #expect(answer(.trace, "/v1/items")?.status == 405)
    }

    @Test("CONNECT: 501 NOT_IMPLEMENTED on a routed path and on no path")
    func connect() {
        #expect(answer(.connect, "/v1/items") == .connectNotImplemented)
        #expect(answer(.connect, "/v1/nothing") == .connectNotImplemented)
        #expect(answer(.connect, "/v1/items")?.error == .notImplemented)
    }
}
