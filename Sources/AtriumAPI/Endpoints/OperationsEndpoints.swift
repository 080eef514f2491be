import AtriumHTTP
import AtriumJSON

/// Health, readiness and metrics (api.md §7). No credential.
enum OperationsEndpoints {
    static let okBody = Array(#"{"status":"ok"}"#.utf8)

    static func all(metrics: @escaping @Sendable () -> String, metricsEnabled: Bool) -> [Endpoint] {
        var endpoints = [
            Endpoint(.get, "/healthz", .open(.eventLoop) { _ in HTTPResponse(status: 200, body: okBody) },
                     documentation: EndpointDocumentation(
                        "healthz", "Liveness: the process answers", response: .ref("Status"))),
            Endpoint(.get, "/readyz", .open(.store, readiness),
                     documentation: EndpointDocumentation(
                        "readyz", "Readiness: the store answers", errors: [.unavailable], response: .ref("Status"))),
        ]
        if metricsEnabled {
            let answer: @Sendable (OpenRequest) -> HTTPResponse = { _ in
                HTTPResponse(status: 200, body: Array(metrics().utf8), contentType: "text/plain; version=0.0.4")
            }
            endpoints.append(Endpoint(.get, "/metrics", .open(.eventLoop, answer), documentation: EndpointDocumentation(
                "metrics", "Prometheus metrics", responseMediaType: "text/plain")))
        }
        return endpoints
    }

    /// `GET /openapi.json`: the OpenAPI 3.1 document, built from the endpoint table at start-up.
    static func openAPI(document: [UInt8]) -> Endpoint {
        Endpoint(.get, "/openapi.json", .open(.eventLoop) { _ in HTTPResponse(status: 200, body: document) },
                 documentation: EndpointDocumentation(
                    "openapi", "The OpenAPI 3.1 document of this API", response: .anyObject))
    }

    /// Ready when the store answers and no request was shed for overload in the last five seconds
    /// (a load balancer then sends new work elsewhere).
    static func readiness(_ request: OpenRequest) throws -> HTTPResponse {
        guard request.services.store.isHealthy else { throw APIError.unavailable }
        if MetricsText.httpMetrics.withLock({ $0?.isShedding }) == true {
            var error = APIError(.unavailable, "The server is overloaded; retry shortly.")
            error.headers.append(("Retry-After", "1"))
            throw error
        }
        return HTTPResponse(status: 200, body: okBody)
    }
}
