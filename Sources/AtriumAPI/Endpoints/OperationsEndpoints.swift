import AtriumHTTP
import AtriumJSON

/// Health, readiness and metrics (api.md §7). No credential.
enum OperationsEndpoints {
    static let okBody = Array(#"{"status":"ok"}"#.utf8)

    static func all(metrics: @escaping @Sendable () -> String, metricsEnabled: Bool) -> [Endpoint] {
        var endpoints = [
            Endpoint(.get, "/healthz", access: .open, work: .eventLoop,
                     documentation: .init("Liveness: the process answers")) { _ in
                HTTPResponse(status: 200, body: okBody)
            },
            Endpoint(.get, "/readyz", access: .open,
                     documentation: .init("Readiness: the store answers", errors: ["UNAVAILABLE"])) { request in
                guard request.services.store.database.isHealthy else { throw APIError.unavailable }
                return HTTPResponse(status: 200, body: okBody)
            },
        ]
        if metricsEnabled {
            endpoints.append(Endpoint(.get, "/metrics", access: .open, work: .eventLoop,
                                      documentation: .init("Prometheus metrics")) { _ in
                HTTPResponse(status: 200, body: Array(metrics().utf8), contentType: "text/plain; version=0.0.4")
            })
        }
        return endpoints
    }
}
