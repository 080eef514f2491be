import AtriumHTTP
import AtriumJSON

/// Health, readiness and metrics (api.md §7). No credential.
enum OperationsEndpoints {
    static let okBody = Array(#"{"status":"ok"}"#.utf8)

    static func all(metrics: @escaping @Sendable () -> String, metricsEnabled: Bool) -> [Endpoint] {
        var endpoints = [
            Endpoint(.get, "/healthz", access: .open, work: .eventLoop,
                     documentation: .init("Liveness: the process answers",
                                          operationID: "healthz", response: .ref("Status"))) { _ in
                HTTPResponse(status: 200, body: okBody)
            },
            Endpoint(.get, "/readyz", access: .open,
                     documentation: .init("Readiness: the store answers", errors: ["UNAVAILABLE"],
                                          operationID: "readyz", response: .ref("Status"))) { request in
                guard request.services.store.isHealthy else { throw APIError.unavailable }
                return HTTPResponse(status: 200, body: okBody)
            },
        ]
        if metricsEnabled {
            endpoints.append(Endpoint(.get, "/metrics", access: .open, work: .eventLoop,
                                      documentation: .init("Prometheus metrics",
                                          operationID: "metrics", responseMediaType: "text/plain")) { _ in
                HTTPResponse(status: 200, body: Array(metrics().utf8), contentType: "text/plain; version=0.0.4")
            })
        }
        return endpoints
    }

    /// `GET /openapi.json`: the OpenAPI 3.1 document, built from the endpoint table at start-up.
    static func openAPI(document: [UInt8]) -> Endpoint {
        Endpoint(.get, "/openapi.json", access: .open, work: .eventLoop,
                 documentation: .init("The OpenAPI 3.1 document of this API", operationID: "openapi",
                                      response: .anyObject)) { _ in
            HTTPResponse(status: 200, body: document)
        }
    }
}
