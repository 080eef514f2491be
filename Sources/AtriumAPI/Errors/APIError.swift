import AtriumAuth
import AtriumJSON
import AtriumStore

/// An error the contract names (api.md §1): it knows its status, its `error.code`, and any
/// header that must go with it. One place (`ErrorEnvelope`) turns it into a response.
public struct APIError: Error, Sendable {
    public let status: Int
    public let code: String
    public let message: String
    public var details: [(field: String, message: String)] = []
    public var headers: [(name: String, value: String)] = []

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
        if status == 401 { headers.append(("WWW-Authenticate", "Bearer")) }
    }

    public static func validation(_ details: [(field: String, message: String)]) -> APIError {
        var error = APIError(status: 400, code: "VALIDATION_FAILED", message: "The request body is not valid.")
        error.details = details
        return error
    }
    public static func validation(field: String, _ message: String) -> APIError {
        validation([(field, message)])
    }
    public static let invalidJSON = APIError(status: 400, code: "INVALID_JSON", message: "The body must be a JSON object.")
    public static func invalidParameter(_ name: String) -> APIError {
        var error = APIError(status: 400, code: "INVALID_PARAMETER", message: "The parameter '\(name)' is not valid.")
        error.details = [(name, "invalid value")]
        return error
    }
    public static func badRequest(_ message: String) -> APIError {
        APIError(status: 400, code: "BAD_REQUEST", message: message)
    }
    public static let unauthenticated = APIError(status: 401, code: "UNAUTHENTICATED", message: "A credential is required.")
    public static let invalidToken = APIError(status: 401, code: "INVALID_TOKEN", message: "The credential is not valid.")
    public static let tokenExpired = APIError(status: 401, code: "TOKEN_EXPIRED", message: "The access token has expired.")
    public static let invalidCredentials = APIError(status: 401, code: "INVALID_CREDENTIALS", message: "Email or password is wrong.")
    public static let crossTenant = APIError(status: 403, code: "CROSS_TENANT_WORKSPACE", message: "You do not have access to this workspace.")
    public static let noMainWorkspace = APIError(status: 403, code: "NO_MAIN_WORKSPACE", message: "You have no main workspace; name one with X-Workspace-ID or set one with PATCH /v1/me.")
    public static let permissionDenied = APIError(status: 403, code: "PERMISSION_DENIED", message: "Your role in this workspace does not allow this action.")
    public static let sessionRequired = APIError(status: 403, code: "SESSION_REQUIRED", message: "This endpoint needs a session (JWT), not an API key.")
    public static let signupDisabled = APIError(status: 403, code: "SIGNUP_DISABLED", message: "Sign-up is disabled on this server.")
    public static func limitReached(_ what: String) -> APIError {
        APIError(status: 403, code: "LIMIT_REACHED", message: "The plan's limit on \(what) is reached.")
    }
    public static func featureUnavailable(_ feature: String) -> APIError {
        APIError(status: 403, code: "FEATURE_UNAVAILABLE", message: "The plan of this workspace's owner does not include \(feature).")
    }
    public static let notFound = APIError(status: 404, code: "NOT_FOUND", message: "Not found.")
    public static func conflict(_ code: String, _ message: String) -> APIError {
        APIError(status: 409, code: code, message: message)
    }
    public static let preconditionFailed = APIError(status: 412, code: "PRECONDITION_FAILED", message: "If-Match does not match the current version.")
    public static let payloadTooLarge = APIError(status: 413, code: "PAYLOAD_TOO_LARGE", message: "The payload is too large.")
    public static let unsupportedMediaType = APIError(status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: "Send the body as application/json.")
    public static func rateLimited(retryAfterSeconds: Int) -> APIError {
        var error = APIError(status: 429, code: "RATE_LIMITED", message: "Too many requests; retry later.")
        error.headers.append(("Retry-After", String(max(1, retryAfterSeconds))))
        return error
    }
    public static let internalError = APIError(status: 500, code: "INTERNAL", message: "Something went wrong on our side.")
    public static let unavailable = APIError(status: 503, code: "UNAVAILABLE", message: "The service is unavailable; retry shortly.")

    /// The contract error for a resolution failure (api.md §3).
    public init(_ failure: ResolutionFailure) {
        switch failure {
        case .invalidWorkspaceHeader:
            self = APIError(status: 400, code: "INVALID_WORKSPACE_HEADER", message: "X-Workspace-ID must be one positive integer.")
        case .invalidWorkspaceID:
            self = APIError(status: 400, code: "INVALID_WORKSPACE_ID", message: "The workspace id must be a positive integer.")
        case .workspaceMismatch:
            self = APIError(status: 400, code: "WORKSPACE_MISMATCH", message: "The workspace selectors of this request disagree.")
        case .workspaceRequired:
            self = APIError(status: 400, code: "WORKSPACE_REQUIRED", message: "Name the workspace with X-Workspace-ID.")
        case .noMainWorkspace: self = .noMainWorkspace
        case .crossTenant: self = .crossTenant
        case .permissionDenied: self = .permissionDenied
        case .notFound: self = .notFound
        }
    }
}

/// Renders the error envelope of api.md §1.
public enum ErrorEnvelope {
    public static func body(status: Int, code: String, message: String, requestID: String,
                            details: [(field: String, message: String)] = []) -> [UInt8] {
        var writer = JSONWriter(capacity: 160)
        writer.beginObject()
        writer.key("success")
        writer.bool(false)
        writer.key("error")
        writer.beginObject()
        writer.key("code")
        writer.string(code)
        writer.key("message")
        writer.string(message)
        writer.key("request_id")
        writer.string(requestID)
        if !details.isEmpty {
            writer.key("details")
            writer.beginArray()
            for detail in details {
                writer.beginObject()
                writer.key("field")
                writer.string(detail.field)
                writer.key("message")
                writer.string(detail.message)
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }
}
