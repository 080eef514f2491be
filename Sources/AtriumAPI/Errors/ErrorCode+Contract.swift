import AtriumHTTP

/// The codes of the contract's error table (api.md §1) beyond the ones the HTTP layer answers
/// by itself, and the one list of every code Atrium can emit. `APIError`, the OpenAPI
/// document and each endpoint's documented errors name codes only through these values.
extension ErrorCode {
    public static let invalidJSON = ErrorCode("INVALID_JSON", status: 400)
    public static let validationFailed = ErrorCode("VALIDATION_FAILED", status: 400)
    public static let invalidParameter = ErrorCode("INVALID_PARAMETER", status: 400)
    public static let invalidWorkspaceHeader = ErrorCode("INVALID_WORKSPACE_HEADER", status: 400)
    public static let invalidWorkspaceID = ErrorCode("INVALID_WORKSPACE_ID", status: 400)
    public static let workspaceMismatch = ErrorCode("WORKSPACE_MISMATCH", status: 400)
    public static let workspaceRequired = ErrorCode("WORKSPACE_REQUIRED", status: 400)
    public static let invalidRoleTransition = ErrorCode("INVALID_ROLE_TRANSITION", status: 400)
    public static let unauthenticated = ErrorCode("UNAUTHENTICATED", status: 401)
    public static let invalidToken = ErrorCode("INVALID_TOKEN", status: 401)
    public static let tokenExpired = ErrorCode("TOKEN_EXPIRED", status: 401)
    public static let invalidCredentials = ErrorCode("INVALID_CREDENTIALS", status: 401)
    public static let crossTenantWorkspace = ErrorCode("CROSS_TENANT_WORKSPACE", status: 403)
    public static let noMainWorkspace = ErrorCode("NO_MAIN_WORKSPACE", status: 403)
    public static let permissionDenied = ErrorCode("PERMISSION_DENIED", status: 403)
    public static let sessionRequired = ErrorCode("SESSION_REQUIRED", status: 403)
    public static let signupDisabled = ErrorCode("SIGNUP_DISABLED", status: 403)
    public static let limitReached = ErrorCode("LIMIT_REACHED", status: 403)
    public static let featureUnavailable = ErrorCode("FEATURE_UNAVAILABLE", status: 403)
    public static let emailTaken = ErrorCode("EMAIL_TAKEN", status: 409)
    public static let alreadyMember = ErrorCode("ALREADY_MEMBER", status: 409)
    public static let invitationPending = ErrorCode("INVITATION_PENDING", status: 409)
    public static let invitationNotPending = ErrorCode("INVITATION_NOT_PENDING", status: 409)
    public static let mainWorkspace = ErrorCode("MAIN_WORKSPACE", status: 409)
    public static let idempotencyConflict = ErrorCode("IDEMPOTENCY_CONFLICT", status: 409)
    public static let cursorExpired = ErrorCode("CURSOR_EXPIRED", status: 410)
    public static let preconditionFailed = ErrorCode("PRECONDITION_FAILED", status: 412)
    public static let unsupportedMediaType = ErrorCode("UNSUPPORTED_MEDIA_TYPE", status: 415)
    public static let rateLimited = ErrorCode("RATE_LIMITED", status: 429)

    /// Every code of the contract's table, in its order. A test holds this list to api.md.
    public static let contract: [ErrorCode] = [
        .invalidJSON, .validationFailed, .invalidParameter, .invalidWorkspaceHeader, .invalidWorkspaceID,
        .workspaceMismatch, .workspaceRequired, .invalidRoleTransition, .badRequest,
        .unauthenticated, .invalidToken, .tokenExpired, .invalidCredentials,
        .crossTenantWorkspace, .noMainWorkspace, .permissionDenied, .sessionRequired, .signupDisabled, .limitReached,
        .featureUnavailable,
        .notFound, .methodNotAllowed, .requestTimeout, .payloadTooLarge, .uriTooLong, .headersTooLarge,
        .emailTaken, .alreadyMember, .invitationPending, .invitationNotPending, .mainWorkspace, .idempotencyConflict,
        .cursorExpired, .preconditionFailed, .unsupportedMediaType, .rateLimited,
        .internalError, .notImplemented, .unavailable,
    ]

    /// Protocol answers RFC 9110 requires that the contract's table does not list
    /// (docs/decisions.md): the only codes outside `contract` the server may emit.
    public static let protocolOnly: [ErrorCode] = [.expectationFailed, .httpVersionNotSupported]

    /// Every code the server can emit.
    public static let all: [ErrorCode] = contract + protocolOnly
}
