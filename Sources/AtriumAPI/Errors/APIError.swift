import AtriumAuth
import AtriumHTTP
import AtriumJSON
import AtriumStore

/// An error the contract names (api.md §1): its `error.code` (which carries the status), a
/// message, and any header that must go with it. One place (`ErrorEnvelope`) turns it into a
/// response.
public struct APIError: Error, Sendable {
    public let code: ErrorCode
    public let message: String
    public var details: [(field: String, message: String)] = []
    public var headers: [(name: String, value: String)] = []

    /// The status, always the one its code carries.
    public var status: Int { code.status }

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
        if code.status == 401 { headers.append(("WWW-Authenticate", "Bearer")) }
    }

    public static func validation(_ details: [(field: String, message: String)]) -> APIError {
        var error = APIError(.validationFailed, "The request body is not valid.")
        error.details = details
        return error
    }
    public static func validation(field: String, _ message: String) -> APIError {
        validation([(field, message)])
    }
    public static let invalidJSON = APIError(.invalidJSON, "The body must be a JSON object.")
    public static func invalidParameter(_ name: String) -> APIError {
        var error = APIError(.invalidParameter, "The parameter '\(name)' is not valid.")
        error.details = [(name, "invalid value")]
        return error
    }
    public static func badRequest(_ message: String) -> APIError {
        APIError(.badRequest, message)
    }
    public static let unauthenticated = APIError(.unauthenticated, "A credential is required.")
    public static let invalidToken = APIError(.invalidToken, "The credential is not valid.")
    public static let tokenExpired = APIError(.tokenExpired, "The access token has expired.")
    public static let invalidCredentials = APIError(.invalidCredentials, "Email or password is wrong.")
    public static let crossTenant = APIError(.crossTenantWorkspace, "You do not have access to this workspace.")
    public static let noMainWorkspace = APIError(
        .noMainWorkspace, "You have no main workspace; name one with X-Workspace-ID or set one with PATCH /v1/me.")
    public static let permissionDenied = APIError(
        .permissionDenied, "Your role in this workspace does not allow this action.")
    public static let sessionRequired = APIError(
        .sessionRequired, "This endpoint needs a session (JWT), not an API key.")
    public static let signupDisabled = APIError(.signupDisabled, "Sign-up is disabled on this server.")
    public static func limitReached(_ what: String) -> APIError {
        APIError(.limitReached, "The plan's limit on \(what) is reached.")
    }
    public static func featureUnavailable(_ feature: String) -> APIError {
        APIError(.featureUnavailable, "The plan of this workspace's owner does not include \(feature).")
    }
    public static let notFound = APIError(.notFound, "Not found.")
    public static func conflict(_ code: ErrorCode, _ message: String) -> APIError {
        APIError(code, message)
    }
    public static let preconditionFailed = APIError(.preconditionFailed, "If-Match does not match the current version.")
    public static let payloadTooLarge = APIError(.payloadTooLarge, "The payload is too large.")
    public static let unsupportedMediaType = APIError(.unsupportedMediaType, "Send the body as application/json.")
    public static func rateLimited(retryAfterSeconds: Int) -> APIError {
        var error = APIError(.rateLimited, "Too many requests; retry later.")
        error.headers.append(("Retry-After", String(max(1, retryAfterSeconds))))
        return error
    }
    public static let internalError = APIError(.internalError, "Something went wrong on our side.")
    public static let unavailable = APIError(.unavailable, "The service is unavailable; retry shortly.")

    /// The contract error for a resolution failure (api.md §3).
    public init(_ failure: ResolutionFailure) {
        switch failure {
        case .invalidWorkspaceHeader:
            self = APIError(.invalidWorkspaceHeader, "X-Workspace-ID must be one positive integer.")
        case .invalidWorkspaceID:
            self = APIError(.invalidWorkspaceID, "The workspace id must be a positive integer.")
        case .workspaceMismatch:
            self = APIError(.workspaceMismatch, "The workspace selectors of this request disagree.")
        case .workspaceRequired:
            self = APIError(.workspaceRequired, "Name the workspace with X-Workspace-ID.")
        case .noMainWorkspace: self = .noMainWorkspace
        case .crossTenant: self = .crossTenant
        case .permissionDenied: self = .permissionDenied
        case .notFound: self = .notFound
        }
    }
}

/// Renders the error envelope of api.md §1.
public enum ErrorEnvelope {
    public static func body(code: ErrorCode, message: String, requestID: String,
                            details: [(field: String, message: String)] = []) -> [UInt8] {
        var writer = JSONWriter(capacity: 160)
        writer.beginObject()
        writer.key("success")
        writer.bool(false)
        writer.key("error")
        writer.beginObject()
        writer.key("code")
        writer.string(code.name)
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
