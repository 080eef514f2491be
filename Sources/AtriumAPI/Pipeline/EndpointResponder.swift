import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumSQLite
import AtriumStore
import AtriumSystem

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
            if let reading = endpoint.readHandler, endpoint.access != .open {
                response = try services.store.read { reader in
                    try prepare(&api, reader: reader)
                    return try reading(&api, reader)
                }
            } else {
                try admit(&api)
                if let writing = endpoint.writeHandler {
                    let outcome = try services.store.write(try writing(&api).body)
                    if let workspace = outcome.workspace { api.workspace = workspace }
                    response = outcome.response
                } else {
                    response = try endpoint.handler(&api)
                }
            }
        } catch {
            response = Self.render(error, requestID: context.requestID)
        }
        finish(&response, principal: api.principal, workspace: api.workspace)
        return response
    }

    /// The worker pool's entry: a write endpoint's body goes to the writer with the
    /// responder, and the worker is free before the commit; every other endpoint answers here.
    func handle(_ request: HTTPRequest, context: RequestContext, responder: HTTPResponder) {
        guard let writing = endpoint.writeHandler else {
            responder.respond(handle(request, context: context))
            return
        }
        var api = APIRequest(http: request, context: context, services: services, now: Clock.nowMilliseconds())
        let write: StoreWrite
        do {
            try admit(&api)
            write = try writing(&api)
        } catch {
            var response = Self.render(error, requestID: context.requestID)
            finish(&response, principal: api.principal, workspace: api.workspace)
            responder.respond(response)
            return
        }
        let principal = api.principal
        let resolved = api.workspace
        services.store.write(write.body) { [self] result in
            var response: HTTPResponse
            var workspace = resolved
            switch result {
            case .success(let outcome):
                response = outcome.response
                if let acted = outcome.workspace { workspace = acted }
            case .failure(let error):
                response = Self.render(error, requestID: context.requestID)
            }
            finish(&response, principal: principal, workspace: workspace)
            responder.respond(response)
        }
    }

    /// What every answer carries once the handler is done: the workspace's request count,
    /// `X-Workspace-ID` on a success, and the access log's tenant fields.
    private func finish(_ response: inout HTTPResponse, principal: Principal?, workspace: ResolvedWorkspace?) {
        if let workspace {
            services.requestCounts.record(workspaceID: workspace.workspaceID)
            if response.status < 400 { response.headers.append(("X-Workspace-ID", String(workspace.workspaceID))) }
        }
        if services.configuration.accessLog {
            response.logFields = Self.logFields(principal: principal, workspace: workspace)
        }
    }

    /// What every handler but a reading one runs behind: for an open endpoint the body's
    /// content type only, otherwise authentication and resolution in one read snapshot.
    private func admit(_ api: inout APIRequest) throws {
        guard endpoint.access != .open else {
            if !api.http.body.isEmpty { try RequestBody.checkContentType(api.http) }
            return
        }
        try services.store.read { reader in try prepare(&api, reader: reader) }
    }

    /// Authentication, the session-only check, and resolution, inside the caller's snapshot.
    private func prepare(_ api: inout APIRequest, reader: StoreReader) throws {
        let (principal, keyRow) = try services.authenticator.authenticate(api.http, reader: reader, now: api.now)
        api.principal = principal
        api.keyRow = keyRow
        if endpoint.access == .session && !principal.isSession { throw APIError.sessionRequired }
        if let malformed = api.query.malformedName, malformed != "workspace_id", malformed != "workspaces" {
            throw APIError.invalidParameter(malformed)
        }
        let lookup = StoreTenancyLookup(reader: reader)
        let requireWorkspace = services.configuration.requireWorkspace
        switch endpoint.scope {
        case .none:
            break
        case .row:
            // The workspace comes from the row, but a malformed selector is a 400 before any
            // row is looked up, so the answer never depends on whether the row exists.
            if principal.apiKey?.mode != .workspace { _ = try WorkspaceResolver.explicitSelection(api.selector) }
        case .selected(let permission):
            api.workspace = try WorkspaceResolver.resolve(
                principal: principal, selector: api.selector, requireWorkspace: requireWorkspace, needs: permission,
                lookup: lookup)
        case .path(let parameter, let permission):
            api.workspace = try WorkspaceResolver.resolvePath(
                principal: principal, pathValue: api.context.parameter(parameter) ?? "", selector: api.selector,
                needs: permission, lookup: lookup)
        case .selectedOrFanOut(let permission):
            if let all = try WorkspaceResolver.resolveFanOut(
                principal: principal, selector: api.selector, needs: permission, lookup: lookup) {
                api.fanOut = all
            } else {
                api.workspace = try WorkspaceResolver.resolve(
                    principal: principal, selector: api.selector, requireWorkspace: requireWorkspace,
                    needs: permission, lookup: lookup)
            }
        }
        if principal.apiKey != nil {
            for workspace in api.fanOut ?? api.workspace.map({ [$0] }) ?? [] {
                try FeatureGate.requireKeysAllowed(in: workspace.workspaceID, services: services, reader: reader)
            }
        }
        if !api.http.body.isEmpty { try RequestBody.checkContentType(api.http) }
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
        response.body = ErrorEnvelope.body(code: apiError.code, message: apiError.message,
                                           requestID: requestID, details: apiError.details)
        return response
    }

    /// The access log's tenant fields: `"workspace_id":…,"user_id":…,"credential":"…"`.
    private static func logFields(principal: Principal?, workspace: ResolvedWorkspace?) -> [UInt8] {
        guard let principal else { return [] }
        var text = ""
        if let workspace { text += "\"workspace_id\":\(workspace.workspaceID)," }
        text += "\"user_id\":\(principal.userID),\"credential\":\"\(principal.isSession ? "jwt" : "api_key")\""
        return Array(text.utf8)
    }
}

extension Endpoint.Access: Equatable {}
