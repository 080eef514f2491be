import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Retries with exponential backoff and jitter (stripe-go's shape), for what is safe to repeat.
public struct RetryPolicy: Sendable {
    /// Retries after the first attempt.
    public var maxRetries = 2
    public var initialDelay: Duration = .milliseconds(500)
    public var maxDelay: Duration = .seconds(8)
    /// A `Retry-After` longer than this is not waited for: the error is returned.
    public var maxRetryAfter: Duration = .seconds(30)

    public init(maxRetries: Int = 2, initialDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(8),
                maxRetryAfter: Duration = .seconds(30)) {
        self.maxRetries = maxRetries
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait before retry `attempt` (1-based): between half and all of an exponential ceiling.
    func delay(attempt: Int) -> Duration {
        let ceiling = min(maxDelay.seconds, initialDelay.seconds * pow(2, Double(attempt - 1)))
        return .milliseconds(Int64(Double.random(in: ceiling / 2...ceiling) * 1000))
    }
}

/// Where and how a client talks to Atrium.
public struct AtriumConfiguration: Sendable {
    public var baseURL: URL
    public var credential: Credential
    /// The workspace selected-scope calls act in when a call names none; nil: the main workspace.
    public var workspace: Int64?
    public var retry: RetryPolicy
    /// Per attempt, enforced by the SDK.
    public var timeout: Duration
    public var transport: any HTTPTransport

    public init(baseURL: URL, credential: Credential, workspace: Int64? = nil, retry: RetryPolicy = RetryPolicy(),
                timeout: Duration = .seconds(30), transport: any HTTPTransport = URLSessionTransport()) {
        self.baseURL = baseURL
        self.credential = credential
        self.workspace = workspace
        self.retry = retry
        self.timeout = timeout
        self.transport = transport
    }
}

/// The Atrium client: one value per credential, safe to share between tasks. Operations live
/// in namespaces (`client.records`, `client.workspaces`, …), generated from the OpenAPI document.
public final class AtriumClient: Sendable {
    public let configuration: AtriumConfiguration

    public init(_ configuration: AtriumConfiguration) {
        self.configuration = configuration
    }

    /// A client with an API key.
    public convenience init(baseURL: URL, apiKey: String, workspace: Int64? = nil) {
        self.init(AtriumConfiguration(baseURL: baseURL, credential: .apiKey(apiKey), workspace: workspace))
    }

    /// Logs in and returns a client on that session.
    public static func login(baseURL: URL, email: String, password: String, workspace: Int64? = nil,
                             transport: any HTTPTransport = URLSessionTransport()) async throws -> AtriumClient {
        let anonymous = AtriumClient(AtriumConfiguration(baseURL: baseURL, credential: .apiKey(""),
                                                         transport: transport))
        let result = try await anonymous.auth.login(Login(email: email, password: password))
        let tokens = SessionTokens(accessToken: result.accessToken, refreshToken: result.refreshToken,
                                   expiresAt: Date().addingTimeInterval(TimeInterval(result.expiresIn)))
        return AtriumClient(AtriumConfiguration(baseURL: baseURL, credential: .session(SessionStore(tokens)),
                                                workspace: workspace, transport: transport))
    }

    /// Signs up (creating the account and its main workspace) and returns a client on the new
    /// session, with the signup's answer.
    public static func signUp(baseURL: URL, email: String, password: String, name: String, workspace: Int64? = nil,
                              transport: any HTTPTransport = URLSessionTransport()) async throws
        -> (client: AtriumClient, signup: SignupResult)
    {
        let anonymous = AtriumClient(AtriumConfiguration(baseURL: baseURL, credential: .apiKey(""),
                                                         transport: transport))
        let result = try await anonymous.auth.signup(Signup(email: email, password: password, name: name))
        let tokens = SessionTokens(accessToken: result.accessToken, refreshToken: result.refreshToken,
                                   expiresAt: Date().addingTimeInterval(TimeInterval(result.expiresIn)))
        let client = AtriumClient(AtriumConfiguration(baseURL: baseURL, credential: .session(SessionStore(tokens)),
                                                      workspace: workspace, transport: transport))
        return (client, result)
    }

    /// The same client (transport and session shared) with another default workspace.
    public func inWorkspace(_ id: Int64?) -> AtriumClient {
        var configuration = self.configuration
        configuration.workspace = id
        return AtriumClient(configuration)
    }

    /// The session's tokens, for a session client.
    public var session: SessionStore? {
        if case .session(let store) = configuration.credential { return store }
        return nil
    }

    // MARK: Sending

    /// Sends an operation and decodes its answer (`Empty?` for none).
    func send<Body: Encodable & Sendable, Answer: Decodable>(
        _ operation: APIOperation, path: String, query: [URLQueryItem], body: Body?, ifMatch: ETag?, fanOut: Bool,
        options: RequestOptions
    ) async throws -> Answer {
        let answer = try await exchange(operation, path: path, query: query, body: body, ifMatch: ifMatch,
                                        fanOut: fanOut, options: options)
        if let nothing = Empty() as? Answer { return nothing }  // no body to decode (204)
        do {
            return try Timestamps.decoder().decode(Answer.self, from: answer.body)
        } catch {
            throw AtriumError.transport(.invalidResponse("\(operation.id): \(error)"))
        }
    }

    /// Sends an operation with its retries and the session's refresh; the raw answer of a 2xx.
    func exchange<Body: Encodable & Sendable>(
        _ operation: APIOperation, path: String, query: [URLQueryItem], body: Body?, ifMatch: ETag?, fanOut: Bool,
        options: RequestOptions
    ) async throws -> HTTPAnswer {
        var request = try makeRequest(operation, path: path, query: query, body: body, ifMatch: ifMatch,
                                      fanOut: fanOut, options: options)
        let maxRetries = options.maxRetries ?? configuration.retry.maxRetries
        var attempt = 0
        var refreshed = false
        while true {
            attempt += 1
            try Task.checkCancellation()
            let token = try await authorize(&request, operation)
            let outcome: Result<HTTPAnswer, AtriumError>
            do {
                outcome = .success(try await configuration.transport.send(request, timeout: configuration.timeout))
            } catch let error as AtriumError {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let answer) where (200..<300).contains(answer.status):
                return answer
            case .success(let answer):
                var error = AtriumError.decode(status: answer.status, headers: answer.headers, body: answer.body)
                error.attempts = attempt
                // An expired access token: refresh once, then replay once (the server did nothing).
                if error.code == .tokenExpired, !refreshed, let store = session, let token {
                    refreshed = true
                    _ = try await store.refreshed(after: token, refresh: refresher)
                    attempt -= 1
                    continue
                }
                // A 429 was refused before anything was done: any call but refresh may wait and
                // try again. Other answers only for calls that are safe to repeat.
                let mayRetry = error.status == 429 ? operation.id != "refresh" : operation.repeatable
                guard attempt <= maxRetries, mayRetry,
                      let wait = retryDelay(for: error, attempt: attempt) else { throw error }
                try await Task.sleep(for: wait)
            case .failure(var error):
                error.attempts = attempt
                let safe: Bool = switch error.transport {
                case .cannotConnect?: operation.id != "refresh"  // never reached the server
                case .timedOut?, .connectionLost?: operation.repeatable
                default: false
                }
                guard attempt <= maxRetries, safe else { throw error }
                try await Task.sleep(for: configuration.retry.delay(attempt: attempt))
            }
        }
    }

    /// How long to wait before retrying after `error`; nil: do not retry.
    func retryDelay(for error: AtriumError, attempt: Int) -> Duration? {
        switch error.status {
        case 429, 503:
            if let after = error.retryAfter {
                return after <= configuration.retry.maxRetryAfter ? after : nil
            }
            return configuration.retry.delay(attempt: attempt)
        case 500, 502, 504:
            return configuration.retry.delay(attempt: attempt)
        default:
            return nil
        }
    }

    /// The request, with every header the contract's rules call for except the credential.
    func makeRequest<Body: Encodable & Sendable>(
        _ operation: APIOperation, path: String, query: [URLQueryItem], body: Body?, ifMatch: ETag?, fanOut: Bool,
        options: RequestOptions
    ) throws -> URLRequest {
        var components = URLComponents(url: configuration.baseURL, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = components.percentEncodedPath.trimmingSuffix("/") + path
        if !query.isEmpty { components.queryItems = query }
        // `+` is a space in a query; keep filter values literal.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        guard let url = components.url else { throw AtriumError.usage("cannot form a URL for \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = operation.method
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            request.httpBody = try Timestamps.encoder().encode(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let workspace = try workspaceHeader(operation, fanOut: fanOut, options: options) {
            request.setValue(String(workspace), forHTTPHeaderField: "X-Workspace-ID")
        }
        if operation.idempotencyKey {
            // Made once, so every attempt of this call carries the same key.
            request.setValue(options.idempotencyKey ?? "atrium-swift-\(UUID().uuidString)",
                             forHTTPHeaderField: "Idempotency-Key")
        }
        if let ifMatch { request.setValue(ifMatch.value, forHTTPHeaderField: "If-Match") }
        if let requestID = options.requestID { request.setValue(requestID, forHTTPHeaderField: "X-Request-ID") }
        return request
    }

    /// `X-Workspace-ID` for this call (api.md §3), or nil for none.
    func workspaceHeader(_ operation: APIOperation, fanOut: Bool, options: RequestOptions) throws -> Int64? {
        switch operation.scope {
        case .none:
            return nil
        case .fanOutList where fanOut:
            if case .id? = options.workspace {
                throw AtriumError.usage("a fan-out list (workspaces=) takes no workspace: the server answers "
                                        + "400 WORKSPACE_MISMATCH")
            }
            return nil
        case .selected, .fanOutList:
            switch options.workspace {
            case .id(let id)?: return id
            case .main?: return nil
            case nil: return configuration.workspace
            }
        case .row:
            if case .id(let id)? = options.workspace { return id }
            return nil
        }
    }

    /// Sets the credential; returns the access token sent, for a session.
    func authorize(_ request: inout URLRequest, _ operation: APIOperation) async throws -> String? {
        guard operation.auth != .none else { return nil }
        switch configuration.credential {
        case .apiKey(let key, let via):
            switch via {
            case .bearer: request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            case .xAPIKey: request.setValue(key, forHTTPHeaderField: "X-API-Key")
            }
            return nil
        case .session(let store):
            let token = try await store.accessToken(refresh: refresher)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            return token
        }
    }

    /// `POST /v1/auth/refresh`, sent once and never retried.
    var refresher: @Sendable (String) async throws -> SessionTokens {
        let anonymous = AtriumClient(AtriumConfiguration(
            baseURL: configuration.baseURL, credential: .apiKey(""), retry: RetryPolicy(maxRetries: 0),
            timeout: configuration.timeout, transport: configuration.transport))
        return { refreshToken in
            let tokens = try await anonymous.auth.refresh(RefreshRequest(refreshToken: refreshToken),
                                                          options: RequestOptions(maxRetries: 0))
            return SessionTokens(tokens)
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
