import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumSQLite
import AtriumStore

/// Runs one endpoint for one request: authentication, the session-only check, workspace
/// resolution, the handler, and the mapping of every error to the contract's envelope.
/// Every route of the API goes through here; no handler can skip a step.
struct EndpointResponder: HTTPHandler {
    let endpoint: Endpoint
    let services: Services

    func handle(_ request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        var api = APIRequest(http: request, context: context, services: services, now: Clock.nowMilliseconds())
        var response: HTTPResponse
        do {
            try prepare(&api)
            response = try endpoint.handler(&api)
        } catch {
            response = Self.render(error, requestID: context.requestID)
        }
        if let workspace = api.workspace, response.status < 400 {
            response.headers.append(("X-Workspace-ID", String(workspace.workspaceID)))
        }
        response.logFields = Self.logFields(api)
        return response
    }

    /// Authentication and resolution, in one read snapshot.
    private func prepare(_ api: inout APIRequest) throws {
        if endpoint.access == .open {
            if !api.http.body.isEmpty { try RequestBody.checkContentType(api.http) }
            return
        }
        let endpoint = self.endpoint
        let services = self.services
        let request = api.http
        let selector = api.selector
        let now = api.now
        let pathValue = api.context.parameter(Self.pathParameter(endpoint.scope) ?? "") ?? ""
        let (principal, resolution) = try services.store.read {
            reader -> (Principal, Result<(ResolvedWorkspace?, [ResolvedWorkspace]?), any Error>) in
            let principal = try services.authenticator.authenticate(request, reader: reader, now: now)
            if endpoint.access == .session && !principal.isSession { throw APIError.sessionRequired }
            let lookup = StoreTenancyLookup(reader: reader)
            let resolution = Result<(ResolvedWorkspace?, [ResolvedWorkspace]?), any Error> {
                switch endpoint.scope {
                case .none:
                    return (nil, nil)
                case .selected(let permission):
                    return (try WorkspaceResolver.resolve(
                        principal: principal, selector: selector,
                        requireWorkspace: services.configuration.requireWorkspace, needs: permission, lookup: lookup), nil)
                case .path(_, let permission):
                    return (try WorkspaceResolver.resolvePath(
                        principal: principal, pathValue: pathValue, selector: selector, needs: permission,
                        lookup: lookup), nil)
                case .selectedOrFanOut(let permission):
                    if let all = try WorkspaceResolver.resolveFanOut(
                        principal: principal, selector: selector, needs: permission, lookup: lookup) {
                        return (nil, all)
                    }
                    return (try WorkspaceResolver.resolve(
                        principal: principal, selector: selector,
                        requireWorkspace: services.configuration.requireWorkspace, needs: permission, lookup: lookup), nil)
                }
            }
            return (principal, resolution)
        }
        api.principal = principal
        (api.workspace, api.fanOut) = try resolution.get()
        if !api.http.body.isEmpty { try RequestBody.checkContentType(api.http) }
    }

    private static func pathParameter(_ scope: Endpoint.Scope) -> String? {
        if case .path(let parameter, _) = scope { return parameter }
        return nil
    }

    /// The contract's envelope for any error a handler or the pipeline threw.
    static func render(_ error: any Error, requestID: String) -> HTTPResponse {
        let apiError: APIError
        switch error {
        case let error as APIError:
            apiError = error
        case let failure as ResolutionFailure:
            apiError = APIError(failure)
        case StoreError.notFound:
            apiError = .notFound
        case let sqlite as SQLiteError where sqlite.isBusy:
            apiError = .unavailable
        default:
            ErrorLog.write(requestID: requestID, error: error)
            apiError = .internalError
        }
        var response = HTTPResponse(status: apiError.status, headers: apiError.headers)
        response.body = ErrorEnvelope.body(status: apiError.status, code: apiError.code, message: apiError.message,
                                           requestID: requestID, details: apiError.details)
        return response
    }

    /// The access log's tenant fields: `"workspace_id":…,"user_id":…,"credential":"…"`.
    private static func logFields(_ api: APIRequest) -> [UInt8] {
        guard let principal = api.principal else { return [] }
        var text = ""
        if let workspace = api.workspace { text += "\"workspace_id\":\(workspace.workspaceID)," }
        text += "\"user_id\":\(principal.userID),\"credential\":\"\(principal.isSession ? "jwt" : "api_key")\""
        return Array(text.utf8)
    }
}

extension Endpoint.Access: Equatable {}

/// Unexpected errors go to standard error with the request id, never to the client.
enum ErrorLog {
    static let sink = LogSink(fd: 2)

    static func write(requestID: String, error: any Error) {
        var writer = JSONWriter(capacity: 128)
        writer.beginObject()
        writer.key("level")
        writer.string("error")
        writer.key("request_id")
        writer.string(requestID)
        writer.key("error")
        writer.string(String(describing: error))
        writer.endObject()
        sink.write(writer.bytes + [10])
    }
}
