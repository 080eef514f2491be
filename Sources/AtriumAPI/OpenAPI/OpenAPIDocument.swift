import AtriumHTTP
import AtriumJSON

/// Builds the OpenAPI 3.1 document (api.md §7) from the endpoint table the router is built
/// from, so the two cannot drift: every route appears once, with the parameters its scope
/// implies, its body and answer schemas, and the error codes it can answer with.
enum OpenAPIDocument {
    /// What every selected-workspace call can answer beyond its own errors (api.md §3).
    static let selectedErrors: [ErrorCode] = [
        .invalidWorkspaceHeader, .invalidWorkspaceID, .workspaceMismatch, .workspaceRequired, .noMainWorkspace,
        .crossTenantWorkspace, .permissionDenied, .featureUnavailable,
    ]

    /// The document's bytes.
    static func build(_ endpoints: [Endpoint]) -> [UInt8] {
        var paths: [(String, [(String, JSONValue)])] = []
        for endpoint in endpoints {
            let operation = (endpoint.method.rawValue.lowercased(), self.operation(endpoint))
            if let index = paths.firstIndex(where: { $0.0 == endpoint.path }) {
                paths[index].1.append(operation)
            } else {
                paths.append((endpoint.path, [operation]))
            }
        }
        let document: JSONValue = .object(JSONObject([
            ("openapi", .string("3.1.0")),
            ("info", .object(JSONObject([
                ("title", .string("Atrium")),
                ("version", .string("1.0.0")),
                ("description", .string("""
                    Self-hosted multi-tenant workspaces: accounts, workspaces, members and roles, invitations, \
                    API keys and sessions, workspace-scoped records and webhooks. Every workspace-scoped call \
                    resolves to one workspace (X-Workspace-ID, workspace_id, or the caller's main workspace).
                    """)),
            ]))),
            ("paths", .object(JSONObject(paths.map { path, operations in
                (path, JSONValue.object(JSONObject(operations)))
            }))),
            ("components", .object(JSONObject([
                ("schemas", .object(JSONObject(Components.all.map { ($0.0, $0.1.json) }))),
                ("securitySchemes", .object(JSONObject([
                    ("sessionToken", .object(JSONObject([
                        ("type", .string("http")), ("scheme", .string("bearer")), ("bearerFormat", .string("JWT")),
                        ("description", .string("An access token from /v1/auth/signup, login or refresh.")),
                    ]))),
                    ("apiKeyBearer", .object(JSONObject([
                        ("type", .string("http")), ("scheme", .string("bearer")),
                        ("description", .string("An API key (atr_…) as a bearer token.")),
                    ]))),
                    ("apiKeyHeader", .object(JSONObject([
                        ("type", .string("apiKey")), ("in", .string("header")), ("name", .string("X-API-Key")),
                        ("description", .string("An API key (atr_…) in X-API-Key.")),
                    ]))),
                ]))),
            ]))),
        ]))
        return Array(document.serializedString.utf8)
    }

    static func operationID(_ endpoint: Endpoint) -> String { endpoint.documentation.operationID }

    static func operation(_ endpoint: Endpoint) -> JSONValue {
        let doc = endpoint.documentation
        var fields: [(String, JSONValue)] = [
            ("operationId", .string(operationID(endpoint))),
            ("summary", .string(doc.summary)),
            ("tags", .array([.string(tag(endpoint.path))])),
        ]
        let parameters = self.parameters(endpoint)
        if !parameters.isEmpty { fields.append(("parameters", .array(parameters))) }
        if let request = doc.request {
            fields.append(("requestBody", .object(JSONObject([
                ("required", .bool(true)), ("content", content("application/json", request.json)),
            ]))))
        }
        fields.append(("responses", responses(endpoint)))
        switch endpoint.credential {
        case nil:
            fields.append(("security", .array([])))
        case .session:
            fields.append(("security", .array([requirement("sessionToken")])))
        case .any:
            fields.append(("security", .array([requirement("sessionToken"), requirement("apiKeyBearer"),
                                               requirement("apiKeyHeader")])))
        }
        return .object(JSONObject(fields))
    }

    /// `{"<mediaType>": {"schema": schema}}`.
    static func content(_ mediaType: String, _ schema: JSONValue) -> JSONValue {
        .object(JSONObject([(mediaType, .object(JSONObject([("schema", schema)])))]))
    }

    static func requirement(_ scheme: String) -> JSONValue {
        .object(JSONObject([(scheme, .array([]))]))
    }

    static func tag(_ path: String) -> String {
        let parts = path.split(separator: "/")
        guard parts.first == "v1", parts.count > 1 else { return "operations" }
        return String(parts[1])
    }

    static func parameter(_ name: String, in location: String, _ schema: Schema, _ description: String,
                          required: Bool = false, deepObject: Bool = false) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("name", .string(name)), ("in", .string(location)), ("description", .string(description)),
            ("required", .bool(required || location == "path")), ("schema", schema.json),
        ]
        if deepObject {
            fields.append(("style", .string("deepObject")))
            fields.append(("explode", .bool(true)))
        }
        return .object(JSONObject(fields))
    }

    static func parameters(_ endpoint: Endpoint) -> [JSONValue] {
        var result: [JSONValue] = []
        for segment in endpoint.path.split(separator: "/") where segment.hasPrefix("{") {
            let name = String(segment.dropFirst().dropLast())
            switch name {
            case "collection":
                result.append(parameter(name, in: "path", .string(pattern: "^[a-z][a-z0-9_]{0,63}$"),
                                        "A collection name."))
            case "token":
                result.append(parameter(name, in: "path", .string(minLength: 1), "The invitation token."))
            default:
                result.append(parameter(name, in: "path", .id, "A positive 64-bit id."))
            }
        }
        let header = parameter("X-Workspace-ID", in: "header", .string(pattern: "^[1-9][0-9]{0,18}$"),
                               "The workspace to act in (api.md §3); omitted: the caller's main workspace.")
        let query = parameter("workspace_id", in: "query", .id, "The workspace to act in, as a query parameter.")
        switch endpoint.admission {
        case .selected, .row:
            result += [header, query]
        case .list:
            result += [header, query, parameter(
                "workspaces", in: "query", .string(pattern: "^(all|[1-9][0-9]{0,18}(,[1-9][0-9]{0,18})*)$"),
                "Fan-out: `all`, or a comma-separated list of workspace ids, merged newest first.")]
        case .open, .account, .path:
            break
        }
        let doc = endpoint.documentation
        if doc.paginated {
            for item in [Parameter.limit, .cursor] {
                result.append(parameter(item.name, in: item.location.rawValue, item.schema, item.description))
            }
        }
        for item in doc.parameters {
            result.append(parameter(item.name, in: item.location.rawValue, item.schema, item.description,
                                    deepObject: item.deepObject))
        }
        return result
    }

    /// Every error code the endpoint can answer with: its own and those its admission implies.
    static func errorCodes(_ endpoint: Endpoint) -> [ErrorCode] {
        let doc = endpoint.documentation
        var codes = doc.errors + [.badRequest, .internalError, .unavailable]
        if let credential = endpoint.credential {
            // A plan may limit request rates (api.md §1): any admitted call can be refused.
            codes += [.unauthenticated, .invalidToken, .tokenExpired, .rateLimited]
            if credential == .session { codes.append(.sessionRequired) }
        }
        switch endpoint.admission {
        case .open:
            break
        case .account:
            codes.append(.featureUnavailable)
        case .selected, .list:
            codes += selectedErrors
        case .row:
            codes += [.invalidWorkspaceHeader, .invalidWorkspaceID, .workspaceMismatch, .notFound, .permissionDenied,
                      .invalidParameter, .featureUnavailable]
        case .path:
            codes += [.invalidWorkspaceID, .crossTenantWorkspace, .permissionDenied, .featureUnavailable]
        }
        if endpoint.path.contains("{") { codes += [.invalidParameter, .notFound] }
        if doc.paginated { codes.append(.invalidParameter) }
        if doc.request != nil { codes += [.invalidJSON, .validationFailed, .unsupportedMediaType, .payloadTooLarge] }
        var seen = Set<ErrorCode>()
        return codes.filter { seen.insert($0).inserted }
    }

    static func responses(_ endpoint: Endpoint) -> JSONValue {
        let doc = endpoint.documentation
        var success: [(String, JSONValue)] = [("description", .string(doc.summary))]
        if let mediaType = doc.responseMediaType {
            success.append(("content", content(mediaType, Schema.string().json)))
        } else if let response = doc.response {
            success.append(("content", content("application/json", response.json)))
        }
        if !doc.links.isEmpty {
            success.append(("links", .object(JSONObject(doc.links.map { link in
                (link.name, JSONValue.object(JSONObject([
                    ("operationId", .string(link.operationID)),
                    ("parameters", .object(JSONObject(link.parameters.map { ($0.0, JSONValue.string($0.1)) }))),
                ])))
            }))))
        }
        var entries: [(String, JSONValue)] = [(String(doc.successStatus), .object(JSONObject(success)))]
        var byStatus: [Int: [String]] = [:]
        for code in errorCodes(endpoint) { byStatus[code.status, default: []].append(code.name) }
        for status in byStatus.keys.sorted() {
            let codes = byStatus[status] ?? []
            var response: [(String, JSONValue)] = [
                ("description", .string(codes.joined(separator: ", "))),
                ("content", content("application/json", Components.errorEnvelope(codes: codes).json)),
            ]
            if status == 401 {
                let header = JSONValue.object(JSONObject([("schema", Schema.string().json)]))
                response.append(("headers", .object(JSONObject([("WWW-Authenticate", header)]))))
            }
            entries.append((String(status), .object(JSONObject(response))))
        }
        return .object(JSONObject(entries))
    }
}


extension StringProtocol {
    func trimmingCharacters(in characters: String) -> String {
        var text = Substring(self)
        while let first = text.first, characters.contains(first) { text.removeFirst() }
        while let last = text.last, characters.contains(last) { text.removeLast() }
        return String(text)
    }
}
