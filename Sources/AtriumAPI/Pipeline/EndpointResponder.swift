import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumStore
import AtriumSystem

/// Runs one endpoint for one request: its admission (authentication, the session-only check,
/// workspace resolution — for calls on one row too — and the plan's feature gate), its work,
/// and the mapping of every error to the contract's envelope. Every route of the API goes
/// through here, and this is the only place that switches over an endpoint's admission: no
/// handler resolves a workspace or checks a credential itself.
struct EndpointResponder: HTTPHandler {
    let endpoint: Endpoint
    let services: Services

    /// What the access log and the answer's headers need once the work is done.
    struct Trail: Sendable {
        var principal: Principal?
        var workspace: ResolvedWorkspace?
        /// The plan's rate limit this request was counted against, for its `RateLimit-*` fields.
        var quota: RateLimiter.Quota?
    }

    /// The state of a request once admission and the worker's part of its work are done.
    enum Prepared {
        case answer(HTTPResponse)
        /// A write for the writer's next group commit; the answer comes after the COMMIT.
        case write(StoreWrite, Trail)
    }

    func handle(_ request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        switch prepare(request, context: context) {
        case .answer(let response):
            return response
        case .write(let write, let trail):
            return committed(Result { try services.store.write(write.body) }, trail: trail, context: context)
        }
    }

    /// The worker pool's entry: a write goes to the writer with the responder, and the worker
    /// is free before the commit; every other answer is given at once.
    func handle(_ request: HTTPRequest, context: RequestContext, responder: HTTPResponder) {
        switch prepare(request, context: context) {
        case .answer(let response):
            responder.respond(response)
        case .write(let write, let trail):
            services.store.write(write.body) { [self] result in
                responder.respond(committed(result, trail: trail, context: context))
            }
        }
    }

    private func committed(_ result: Result<StoreWrite.Outcome, any Error>, trail: Trail,
                           context: RequestContext) -> HTTPResponse {
        var trail = trail
        var response: HTTPResponse
        switch result {
        case .success(let outcome):
            response = outcome.response
            if let acted = outcome.workspace { trail.workspace = acted }
            if let quota = outcome.quota { trail.quota = quota }
            outcome.afterCommit?()
        case .failure(let error):
            response = Self.render(error, requestID: context.requestID)
        }
        finish(&response, trail: trail)
        return response
    }

    // MARK: Admission

    private func prepare(_ http: HTTPRequest, context: RequestContext) -> Prepared {
        let now = Clock.nowMilliseconds()
        let query = QueryParameters(http.query)
        var trail = Trail()
        let prepared: Prepared
        do {
            prepared = try admitAndRun(http, context: context, query: query, now: now, trail: &trail)
        } catch {
            prepared = .answer(Self.render(error, requestID: context.requestID))
        }
        guard case .answer(var response) = prepared else { return prepared }
        finish(&response, trail: trail)
        return .answer(response)
    }

    private func admitAndRun(_ http: HTTPRequest, context: RequestContext, query: QueryParameters, now: Int64,
                             trail: inout Trail) throws -> Prepared {
        let open = OpenRequest(http: http, context: context, services: services, query: query, now: now)
        switch endpoint.admission {
        case .open(_, let handler):
            if !http.body.isEmpty { try RequestBody.checkContentType(http) }
            return .answer(try handler(open))
        case .account(let credential, let work):
            return try run(work, open, credential, trail: &trail) { request, reader in
                try requireKeysAllowed(forAccount: request, reader: reader)
                return (NoWorkspace(), nil)
            }
        case .selected(let credential, let permission, let work):
            return try run(work, open, credential, trail: &trail) { request, reader in
                let resolved = try WorkspaceResolver.resolve(
                    principal: request.principal, selector: request.selector,
                    requireWorkspace: services.configuration.requireWorkspace, needs: permission,
                    lookup: StoreTenancyLookup(reader: reader))
                try requireKeysAllowed(request.principal, in: [resolved], reader: reader)
                return (resolved, resolved)
            }
        case .path(let credential, let parameter, let permission, let work):
            return try run(work, open, credential, trail: &trail) { request, reader in
                let resolved = try WorkspaceResolver.resolvePath(
                    principal: request.principal, pathValue: context.parameter(parameter) ?? "",
                    selector: request.selector, needs: permission, lookup: StoreTenancyLookup(reader: reader))
                try requireKeysAllowed(request.principal, in: [resolved], reader: reader)
                return (resolved, resolved)
            }
        case .list(let credential, let permission, let handler):
            return try run(.read(handler), open, credential, trail: &trail) { request, reader in
                let set = try Self.resolveList(request, needs: permission, reader: reader, services: services)
                if case .one(let resolved) = set { return (set, resolved) }
                return (set, nil)
            }
        case .row(let credential, let scope, let work):
            return try runRow(scope, work, open, credential, trail: &trail)
        }
    }

    /// The workspaces of a list: one, or a fan-out (`workspaces=`), each gated by the plan's
    /// key rule. Also what an open event stream re-runs to re-validate its caller.
    static func resolveList(_ request: AccountRequest, needs permission: PermissionSet, reader: StoreReader,
                            services: Services) throws -> WorkspaceSet {
        let lookup = StoreTenancyLookup(reader: reader)
        let set: WorkspaceSet
        if let all = try WorkspaceResolver.resolveFanOut(
            principal: request.principal, selector: request.selector, needs: permission, lookup: lookup) {
            set = .fanOut(all)
        } else {
            set = .one(try WorkspaceResolver.resolve(
                principal: request.principal, selector: request.selector,
                requireWorkspace: services.configuration.requireWorkspace, needs: permission, lookup: lookup))
        }
        try FeatureGate.requireKeysAllowed(for: request.principal, in: set.workspaces, services: services,
                                           reader: reader)
        return set
    }

    /// Authentication, the session-only check and the query's syntax, inside the caller's
    /// snapshot: the first steps of every admitted endpoint.
    private func authenticate(_ open: OpenRequest, _ credential: Endpoint.Credential,
                              reader: StoreReader) throws -> AccountRequest {
        let (principal, keyRow) = try services.authenticator.authenticate(open.http, reader: reader, now: open.now)
        if credential == .session && !principal.isSession { throw APIError.sessionRequired }
        if let malformed = open.query.malformedName, malformed != "workspace_id", malformed != "workspaces" {
            throw APIError.invalidParameter(malformed)
        }
        let selector = WorkspaceSelector(
            headerValues: open.http.headers.values("x-workspace-id"), queryValues: open.query.values("workspace_id"),
            fanOutValues: open.query.values("workspaces"))
        return AccountRequest(http: open.http, context: open.context, services: services, query: open.query,
                              now: open.now, principal: principal, keyRow: keyRow, selector: selector,
                              scope: NoWorkspace())
    }

    /// Runs `work` after authenticating and resolving its scope in one read snapshot.
    private func run<Scope: Sendable>(
        _ work: Endpoint.Work<Scope>, _ open: OpenRequest, _ credential: Endpoint.Credential, trail: inout Trail,
        resolve: (AccountRequest, StoreReader) throws -> (Scope, ResolvedWorkspace?)
    ) throws -> Prepared {
        func admit(_ reader: StoreReader) throws -> APIRequest<Scope> {
            let account = try authenticate(open, credential, reader: reader)
            trail.principal = account.principal
            let (scope, resolved) = try resolve(account, reader)
            trail.workspace = resolved
            trail.quota = try Self.limitRate(account.principal, in: resolved, reader: reader, services: services)
            try checkBodyType(open.http)
            return account.with(scope)
        }
        switch work {
        case .read(let handler):
            return .answer(try services.store.read { reader in try handler(try admit(reader), reader) })
        case .respond(let handler):
            let request = try services.store.read { reader in try admit(reader) }
            return .answer(try handler(request))
        case .write(let handler):
            let request = try services.store.read { reader in try admit(reader) }
            return .write(try handler(request), trail)
        }
    }

    /// A call on one row: the row's workspace is found through the endpoint's row scope and
    /// resolved with the row rule (api.md §3), in the read snapshot or in the writer's
    /// transaction, then gated like any other workspace.
    private func runRow(_ scope: RowScope, _ work: Endpoint.RowWork, _ open: OpenRequest,
                        _ credential: Endpoint.Credential, trail: inout Trail) throws -> Prepared {
        let services = self.services
        switch work {
        case .read(let handler):
            return .answer(try services.store.read { reader in
                let request = try authenticateRow(open, credential, scope, reader: reader, trail: &trail)
                let resolved = try Self.resolveRow(scope, request, reader: reader, services: services)
                trail.workspace = resolved
                trail.quota = try Self.limitRate(request.principal, in: resolved, reader: reader, services: services)
                return try handler(request.with(resolved), reader)
            })
        case .write(let handler):
            let request = try services.store.read { reader in
                try authenticateRow(open, credential, scope, reader: reader, trail: &trail)
            }
            let write = try handler(request)
            return .write(StoreWrite { writer in
                let resolved: ResolvedWorkspace
                do {
                    resolved = try Self.resolveRow(scope, request, reader: writer.reader, services: services)
                } catch let error where Self.deniesRow(error) {
                    guard let outcome = try write.otherwise?(writer) else { throw error }
                    return outcome
                }
                let quota = try Self.limitRate(request.principal, in: resolved,
                                               reader: writer.reader, services: services)
                var outcome: StoreWrite.Outcome
                do {
                    outcome = try write.body(writer, resolved)
                } catch var refused as APIError {
                    // The request was counted: its error answer carries the limit's fields too.
                    if let quota { refused.headers += quota.headers }
                    throw refused
                }
                outcome.workspace = resolved
                outcome.quota = quota
                return outcome
            }, trail)
        }
    }

    /// The steps of a row call before its row is looked up: a malformed selector or id is a
    /// 400 whether or not the row exists, so the answer never depends on the row.
    private func authenticateRow(_ open: OpenRequest, _ credential: Endpoint.Credential, _ scope: RowScope,
                                 reader: StoreReader, trail: inout Trail) throws -> AccountRequest {
        let request = try authenticate(open, credential, reader: reader)
        trail.principal = request.principal
        if request.principal.apiKey?.mode != .workspace {
            _ = try WorkspaceResolver.explicitSelection(request.selector)
        }
        _ = try request.pathID(scope.parameter)
        try checkBodyType(open.http)
        return request
    }

    /// The row's workspace, resolved with the row rule and gated.
    private static func resolveRow(_ scope: RowScope, _ request: AccountRequest, reader: StoreReader,
                                   services: Services) throws -> ResolvedWorkspace {
        let id = try request.pathID(scope.parameter)
        guard let workspaceID = try scope.workspaceOf(reader, id) else { throw APIError.notFound }
        let resolved = try WorkspaceResolver.resolveRow(
            principal: request.principal, rowWorkspaceID: workspaceID, selector: request.selector,
            needs: scope.permission, lookup: StoreTenancyLookup(reader: reader))
        try FeatureGate.requireKeysAllowed(for: request.principal, in: [resolved], services: services, reader: reader)
        return resolved
    }

    /// Errors after which a row's declared alternative (`RowWrite.otherwise`) is tried.
    private static func deniesRow(_ error: any Error) -> Bool {
        switch error {
        case ResolutionFailure.notFound, ResolutionFailure.permissionDenied, ResolutionFailure.crossTenant:
            return true
        case let error as APIError:
            return error.code == .notFound
        default:
            return false
        }
    }

    private func requireKeysAllowed(_ principal: Principal, in workspaces: [ResolvedWorkspace],
                                    reader: StoreReader) throws {
        try FeatureGate.requireKeysAllowed(for: principal, in: workspaces, services: services, reader: reader)
    }

    private func requireKeysAllowed(forAccount request: AccountRequest, reader: StoreReader) throws {
        try FeatureGate.requireKeysAllowedSomewhere(for: request.principal, services: services, reader: reader)
    }

    /// The plan's request rates (api.md §1): the bucket of the workspace the request acts in
    /// (its owner's `requests_per_minute`) and of the key it uses (`key_requests_per_minute`,
    /// of the same plan, or of the key's user's plan when no single workspace is resolved).
    /// Over either: `429 RATE_LIMITED` with `Retry-After`, charged to neither. Skipped entirely
    /// when no plan limits rates.
    static func limitRate(_ principal: Principal, in workspace: ResolvedWorkspace?, reader: StoreReader,
                          services: Services) throws -> RateLimiter.Quota? {
        guard services.plans.limitsRates else { return nil }
        var limits: [(scope: RateLimiter.Scope, perMinute: Int)] = []
        let plan: Plan
        if let workspace {
            plan = services.plans.plan(named: try reader.ownerPlan(workspaceID: workspace.workspaceID)?.plan)
            if let perMinute = plan.requestsPerMinute { limits.append((.workspace(workspace.workspaceID), perMinute)) }
        } else {
            plan = services.plans.plan(named: try reader.user(id: principal.userID)?.plan)
        }
        if let key = principal.apiKey, let perMinute = plan.keyRequestsPerMinute {
            limits.append((.key(key.keyID), perMinute))
        }
        guard !limits.isEmpty, let quota = RateLimiter.tightest(services.rateLimiter.take(limits)) else { return nil }
        if let retryAfter = quota.retryAfterSeconds {
            var error = APIError.rateLimited(retryAfterSeconds: retryAfter)
            error.headers += quota.headers
            throw error
        }
        return quota
    }

    private func checkBodyType(_ http: HTTPRequest) throws {
        if !http.body.isEmpty { try RequestBody.checkContentType(http) }
    }

    // MARK: Answers

    /// What every answer carries once the work is done: the workspace's request count,
    /// `X-Workspace-ID` on a success, and the access log's tenant fields.
    private func finish(_ response: inout HTTPResponse, trail: Trail) {
        if let workspace = trail.workspace {
            services.requestCounts.record(workspaceID: workspace.workspaceID)
            if response.status < 400 { response.headers.append(("X-Workspace-ID", String(workspace.workspaceID))) }
        }
        if let quota = trail.quota { response.headers += quota.headers }
        if services.configuration.accessLog {
            response.logFields = Self.logFields(principal: trail.principal, workspace: trail.workspace)
        }
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
        case StoreError.busy:
            apiError = .storeBusy
        case StoreError.storageFull:
            apiError = .storageFull
        default:
            ErrorLog.write(requestID: requestID, error: error)
            apiError = .internalError
        }
        var response = HTTPResponse(status: apiError.status, headers: apiError.headers)
        response.body = ErrorEnvelope.body(code: apiError.code, message: apiError.message, requestID: requestID,
                                           details: apiError.details)
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

