import AtriumHTTP
import AtriumJSON

/// Builds the OpenAPI 3.1 document (api.md §7) from the endpoint table the router is built
/// from, so the two cannot drift: every route appears once, with the parameters its scope
/// implies, its body and answer schemas, and the error codes it can answer with.
enum OpenAPIDocument {
    /// The status of each contract error code (api.md §1).
    static let statusOfCode: [String: Int] = {
        var table: [String: Int] = [:]
        let groups: [(Int, [String])] = [
            (400, ["INVALID_JSON", "VALIDATION_FAILED", "INVALID_PARAMETER", "INVALID_WORKSPACE_HEADER",
                   "INVALID_WORKSPACE_ID", "WORKSPACE_MISMATCH", "WORKSPACE_REQUIRED", "INVALID_ROLE_TRANSITION",
                   "BAD_REQUEST"]),
            (401, ["UNAUTHENTICATED", "INVALID_TOKEN", "TOKEN_EXPIRED", "INVALID_CREDENTIALS"]),
            (403, ["CROSS_TENANT_WORKSPACE", "NO_MAIN_WORKSPACE", "PERMISSION_DENIED", "SESSION_REQUIRED",
                   "SIGNUP_DISABLED", "LIMIT_REACHED", "FEATURE_UNAVAILABLE"]),
            (404, ["NOT_FOUND"]), (405, ["METHOD_NOT_ALLOWED"]), (408, ["REQUEST_TIMEOUT"]),
            (409, ["EMAIL_TAKEN", "ALREADY_MEMBER", "INVITATION_PENDING", "INVITATION_NOT_PENDING", "MAIN_WORKSPACE",
                   "IDEMPOTENCY_CONFLICT"]),
            (412, ["PRECONDITION_FAILED"]), (413, ["PAYLOAD_TOO_LARGE"]), (414, ["URI_TOO_LONG"]),
            (415, ["UNSUPPORTED_MEDIA_TYPE"]), (429, ["RATE_LIMITED"]), (431, ["HEADERS_TOO_LARGE"]),
            (500, ["INTERNAL"]), (501, ["NOT_IMPLEMENTED"]), (503, ["UNAVAILABLE"]),
        ]
        for (status, codes) in groups { for code in codes { table[code] = status } }
        return table
    }()

    static let selectedErrors = ["INVALID_WORKSPACE_HEADER", "INVALID_WORKSPACE_ID", "WORKSPACE_MISMATCH",
                                 "WORKSPACE_REQUIRED", "NO_MAIN_WORKSPACE", "CROSS_TENANT_WORKSPACE", "PERMISSION_DENIED"]

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

    /// The operation id: the declared one, or one made from the method and the path.
    static func operationID(_ endpoint: Endpoint) -> String {
        if let declared = endpoint.documentation.operationID { return declared }
        var words = [endpoint.method.rawValue.lowercased()]
        for segment in endpoint.path.split(separator: "/") where segment != "v1" {
            let word = segment.trimmingCharacters(in: "{}").split(whereSeparator: { $0 == "-" || $0 == "." || $0 == "_" })
                .map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            words.append(segment.hasPrefix("{") ? "By" + word : word)
        }
        return words.joined()
    }

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
        switch endpoint.access {
        case .open:
            fields.append(("security", .array([])))
        case .session:
            fields.append(("security", .array([requirement("sessionToken")])))
        case .anyCredential:
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
        switch endpoint.scope {
        case .selected, .row:
            result += [header, query]
        case .selectedOrFanOut:
            result += [header, query, parameter(
                "workspaces", in: "query", .string(pattern: "^(all|[1-9][0-9]{0,18}(,[1-9][0-9]{0,18})*)$"),
                "Fan-out: `all`, or a comma-separated list of workspace ids, merged newest first.")]
        case .none, .path:
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

    /// Every error code the endpoint can answer with: its own and those its shape implies.
    static func errorCodes(_ endpoint: Endpoint) -> [String] {
        let doc = endpoint.documentation
        var codes = doc.errors + ["BAD_REQUEST", "INTERNAL", "UNAVAILABLE"]
        if endpoint.access != .open { codes += ["UNAUTHENTICATED", "INVALID_TOKEN", "TOKEN_EXPIRED"] }
        if endpoint.access == .session { codes.append("SESSION_REQUIRED") }
        switch endpoint.scope {
        case .selected, .selectedOrFanOut:
            codes += selectedErrors + ["FEATURE_UNAVAILABLE"]
        case .row:
            codes += ["INVALID_WORKSPACE_HEADER", "INVALID_WORKSPACE_ID", "WORKSPACE_MISMATCH", "NOT_FOUND",
                      "PERMISSION_DENIED", "INVALID_PARAMETER", "FEATURE_UNAVAILABLE"]
        case .path:
            codes += ["INVALID_WORKSPACE_ID", "CROSS_TENANT_WORKSPACE", "PERMISSION_DENIED", "FEATURE_UNAVAILABLE"]
        case .none:
            break
        }
        if endpoint.path.contains("{") { codes += ["INVALID_PARAMETER", "NOT_FOUND"] }
        if doc.paginated { codes.append("INVALID_PARAMETER") }
        if doc.request != nil {
            codes += ["INVALID_JSON", "VALIDATION_FAILED", "UNSUPPORTED_MEDIA_TYPE", "PAYLOAD_TOO_LARGE"]
        }
        var seen = Set<String>()
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
        for code in errorCodes(endpoint) {
            byStatus[statusOfCode[code] ?? 500, default: []].append(code)
        }
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
