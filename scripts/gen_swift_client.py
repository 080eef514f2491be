#!/usr/bin/env python3
"""Generates the Swift client's models, error codes and operations from the server's OpenAPI
document (stdlib only). The runtime they call (transport, credentials, retries, errors,
pagination, webhooks) is hand-written in Sources/AtriumClient/.

Usage: gen_swift_client.py DOCUMENT [OUTPUT_DIR] [--check]
       gen_swift_client.py --from-binary .build/debug/atrium [--check]   (`make client-generate`)
  DOCUMENT    a path to openapi.json, or an http(s) URL of GET /openapi.json
  OUTPUT_DIR  default Sources/AtriumClient/Generated
  --check     write nothing; exit 1 if the committed files differ from what would be written

Each operation's traits come from the document: who may call it (`security`), where its
workspace comes from (`X-Workspace-ID`, a row id in the path, `workspaces=` fan-out), whether
it is paginated (`cursor`), takes an `Idempotency-Key` or an `If-Match`."""
import json, os, re, sys, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Which namespace each operation belongs to. An operation that is neither here nor excluded
# stops the generator, so a new endpoint cannot slip past the SDK unnoticed.
NAMESPACES = {
    "Auth": ["signup", "login", "refresh", "logout"],
    "MeAPI": ["getMe", "updateMe", "listUserWorkspaces"],
    "Workspaces": ["listWorkspaces", "createWorkspace", "getWorkspace", "updateWorkspace", "deleteWorkspace",
                   "transferOwnership"],
    "Members": ["listMembers", "changeMemberRole", "removeMember"],
    "Invitations": ["inviteMember", "listPendingInvitations", "acceptInvitation", "resendInvitation",
                    "revokeInvitation"],
    "APIKeys": ["listAPIKeys", "createAPIKey", "updateAPIKey", "deleteAPIKey", "listWorkspaceKeys",
                "createWorkspaceKey", "updateWorkspaceKey", "deleteWorkspaceKey"],
    "Records": ["createRecord", "listRecords", "getRecord", "updateRecord", "replaceRecord", "deleteRecord"],
    "Webhooks": ["listWebhooks", "createWebhook", "getWebhook", "updateWebhook", "deleteWebhook",
                 "rotateWebhookSecret", "listDeliveries"],
    "AuditLog": ["listAuditLog"],
    "AccountAPI": ["getAccount"],
    "UsageBilling": ["getUsage", "getBilling"],
    "Events": ["listEvents"],
}
ACCESSORS = {"Auth": "auth", "MeAPI": "me", "Workspaces": "workspaces", "Members": "members",
             "Invitations": "invitations", "APIKeys": "apiKeys", "Records": "records", "Webhooks": "webhooks",
             "AuditLog": "auditLog", "AccountAPI": "account", "UsageBilling": "billing",
             "Events": "events"}
# Operations with no SDK method, on purpose (tested: AtriumClientTests/DriftTests).
EXCLUDED = {"healthz": "operations probe, no credential", "readyz": "operations probe, no credential",
            "metrics": "Prometheus text for scrapers", "openapi": "the document itself",
            # streamEvents is a stream of Server-Sent Events, not one JSON answer: the SDK's method for it,
            # events.stream(), is hand-written (Sources/AtriumClient/EventStream.swift).
            "streamEvents": "Server-Sent Events: hand-written as events.stream() (EventStream.swift)"}
# Codes the server answers below the endpoint table (framing, routing, limits), which no
# operation lists; the contract's table (api.md §1) has them.
PROTOCOL_CODES = ["BAD_REQUEST", "METHOD_NOT_ALLOWED", "REQUEST_TIMEOUT", "PAYLOAD_TOO_LARGE", "URI_TOO_LONG",
                  "HEADERS_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "NOT_FOUND", "INTERNAL", "NOT_IMPLEMENTED",
                  "UNAVAILABLE", "RATE_LIMITED", "CURSOR_EXPIRED", "SIGNUP_DISABLED"]
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
SWIFT_KEYWORDS = {"default", "protocol", "class", "struct", "enum", "func", "var", "let", "in", "is", "as", "self",
                  "Type", "operator", "where", "import", "init", "return", "throws", "internal", "public", "private"}


def load(source):
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:
            return json.load(response)
    with open(source) as f:
        return json.load(f)


def camel(name):
    parts = re.split(r"[_\-\s.]+", name)
    text = parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return f"`{text}`" if text in SWIFT_KEYWORDS else text


def upper_camel(name):
    text = camel(name).strip("`")
    return text[:1].upper() + text[1:]


def ref_name(schema):
    return schema["$ref"].rsplit("/", 1)[1]


def nullable_inner(schema):
    """X for anyOf [X, {type: null}], else None."""
    options = schema.get("anyOf")
    if options and len(options) == 2 and {"type": "null"} in options:
        return next(o for o in options if o != {"type": "null"})
    return None


class Models:
    def __init__(self, schemas, request_bodies=()):
        self.schemas = schemas
        # Request bodies tell "leave it" (omitted) from "clear it" (null): their nullable,
        # optional members are `Nullable<T>?`.
        self.request_bodies = set(request_bodies)

    def swift_type(self, schema, owner, prop, nested):
        """The Swift type of a property schema; inline objects become nested structs."""
        if "$ref" in schema:
            return ref_name(schema)
        inner = nullable_inner(schema)
        if inner is not None:
            return self.swift_type(inner, owner, prop, nested)
        kind = schema.get("type")
        if kind == "integer":
            return "Int64"
        if kind == "number":
            return "Double"
        if kind == "boolean":
            return "Bool"
        if kind == "string":
            return "Date" if schema.get("format") == "date-time" else "String"
        if kind == "array":
            return "[" + self.swift_type(schema.get("items", {}), owner, prop, nested) + "]"
        if kind == "object":
            if schema.get("properties"):
                name = upper_camel(prop)
                nested.append(self.struct(name, schema, indent="    "))
                return name
            return "JSONObject"
        return "JSONValue"

    def struct(self, name, schema, indent=""):
        properties = [(k, v) for k, v in schema.get("properties", {}).items() if "const" not in v]
        required = set(schema.get("required", []))
        nested, fields = [], []
        for key, prop in properties:
            swift = self.swift_type(prop, name, key, nested)
            nullable = nullable_inner(prop) is not None
            if name in self.request_bodies and nullable and key not in required:
                swift = f"Nullable<{swift}>"
            optional = key not in required or nullable
            fields.append((key, camel(key), swift + ("?" if optional else ""), optional, prop.get("description")))
        lines = [f"{indent}public struct {name}: Codable, Sendable, Equatable {{"]
        for block in nested:
            lines += block
        for key, field, swift, _, description in fields:
            if description:
                lines.append(f"{indent}    /// {description}")
            lines.append(f"{indent}    public var {field}: {swift}")
        lines.append("")
        params = ", ".join(f"{f}: {t}" + (" = nil" if opt else "") for _, f, t, opt, _ in fields)
        lines.append(f"{indent}    public init({params}) {{")
        for _, field, _, _, _ in fields:
            bare = field.strip("`")
            lines.append(f"{indent}        self.{bare} = {field}")
        lines.append(f"{indent}    }}")
        if any(key != field for key, field, _, _, _ in fields):
            lines.append("")
            lines.append(f"{indent}    enum CodingKeys: String, CodingKey {{")
            for key, field, _, _, _ in fields:
                lines.append(f"{indent}        case {field}" + (f' = "{key}"' if key != field.strip("`") else ""))
            lines.append(f"{indent}    }}")
        lines.append(f"{indent}}}")
        lines.append("")
        return lines

    def render(self):
        out = []
        for name, schema in self.schemas.items():
            if name == "Error":
                continue  # the envelope is decoded by the runtime (AtriumError)
            if schema.get("description"):
                out.append(f"/// {schema['description']}")
            out += self.struct(name, schema)
        return out


def error_codes(document):
    found = set()
    for path in document["paths"].values():
        for method, op in path.items():
            if method not in HTTP_METHODS:
                continue
            for response in op.get("responses", {}).values():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
                found.update(code.get("enum", []))
    return sorted(found | set(PROTOCOL_CODES))


def operation_traits(path, method, op, shared):
    params = op.get("parameters", []) + shared
    names = {p["name"]: p for p in params}
    security = op.get("security")
    schemes = {k for entry in (security or []) for k in entry}
    auth = ".none" if security == [] else (".session" if schemes == {"sessionToken"} else ".any")
    path_params = [p for p in params if p["in"] == "path"]
    if "X-Workspace-ID" in names:
        if "workspaces" in names:
            scope = ".fanOutList"
        elif any(p.get("schema", {}).get("type") == "integer" for p in path_params):
            scope = ".row"  # a call on one row (api.md §3): its workspace comes from the row
        else:
            scope = ".selected"
    else:
        scope = ".none"
    return {
        "auth": auth, "scope": scope, "paginated": "cursor" in names, "idempotent": "Idempotency-Key" in names,
        "conditional": "If-Match" in names, "params": params, "path_params": path_params,
    }


def response_shape(op):
    """(kind, type): kind is 'void', 'model', 'list' (data array) or 'page' (paginated)."""
    for status, response in sorted(op["responses"].items()):
        if not status.startswith("2"):
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return "void", "Void"
        if "$ref" in schema:
            return "model", ref_name(schema)
        data = schema.get("properties", {}).get("data")
        if data and data.get("type") == "array" and "$ref" in data.get("items", {}):
            return "list", ref_name(data["items"])
        return "model", "JSONObject"
    return "void", "Void"


def path_label(path, name):
    if name == "id" and path.startswith("/v1/workspaces/{id}"):
        return "workspace"
    return camel(name)


def render_operations(document):
    ops, seen = [], set()
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            op_id = op["operationId"]
            seen.add(op_id)
            if op_id in EXCLUDED:
                continue
            namespace = next((n for n, ids in NAMESPACES.items() if op_id in ids), None)
            if namespace is None:
                sys.exit(f"operation {op_id} ({method.upper()} {path}) has no namespace in gen_swift_client.py: "
                         "add it to NAMESPACES or EXCLUDED")
            ops.append((namespace, path, method, op, operation_traits(path, method, op, shared)))
    missing = [i for ids in NAMESPACES.values() for i in ids if i not in seen] + \
              [i for i in EXCLUDED if i not in seen]
    if missing:
        sys.exit(f"gen_swift_client.py names operations the document does not have: {missing}")

    out = ["/// Every operation of the document the SDK calls, with the traits the runtime acts on.",
           "public enum Operations {"]
    for namespace, path, method, op, t in ops:
        out.append(f"    public static let {op['operationId']} = APIOperation(")
        out.append(f"        id: \"{op['operationId']}\", method: \"{method.upper()}\", path: \"{path}\",")
        out.append(f"        auth: {t['auth']}, scope: {t['scope']}, paginated: {str(t['paginated']).lower()}, "
                   f"idempotencyKey: {str(t['idempotent']).lower()}, ifMatch: {str(t['conditional']).lower()})")
    out.append("")
    out.append("    /// All of them, in document order.")
    out.append("    public static let all: [APIOperation] = [")
    for _, _, _, op, _ in ops:
        out.append(f"        {op['operationId']},")
    out.append("    ]")
    out.append("")
    out.append("    /// Operations of the document with no SDK method, and why.")
    out.append("    public static let excluded: [String: String] = [")
    for key, why in sorted(EXCLUDED.items()):
        out.append(f"        \"{key}\": \"{why}\",")
    out.append("    ]")
    out.append("}")
    out.append("")

    for namespace in NAMESPACES:
        accessor = ACCESSORS[namespace]
        out.append(f"/// The `{accessor}` namespace of ``AtriumClient``.")
        out.append(f"public struct {namespace}: Sendable {{")
        out.append("    public let client: AtriumClient")
        out.append("    public init(client: AtriumClient) { self.client = client }")
        out.append("}")
        out.append("")
    out.append("extension AtriumClient {")
    for namespace in NAMESPACES:
        out.append(f"    public var {ACCESSORS[namespace]}: {namespace} {{ {namespace}(client: self) }}")
    out.append("}")
    out.append("")

    for namespace, path, method, op, t in ops:
        op_id = op["operationId"]
        kind, result = response_shape(op)
        args, query_lines = [], []
        path_expr = path
        for p in t["path_params"]:
            label = path_label(path, p["name"])
            swift = "Int64" if p.get("schema", {}).get("type") == "integer" else "String"
            args.append(f"{label}: {swift}")
            path_expr = path_expr.replace("{" + p["name"] + "}", f"\\(PathSegment.encode({label.strip('`')}))")
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body is not None:
            args.append(f"_ body: {ref_name(body) if '$ref' in body else 'JSONObject'}")
        fan_out = "false"
        for p in t["params"]:
            if p["in"] != "query" or p["name"] in ("workspace_id", "cursor", "limit"):
                continue
            if p["name"] == "workspaces":
                args.append("workspaces: FanOut? = nil")
                query_lines.append("if let workspaces { query.append(URLQueryItem(name: \"workspaces\", "
                                   "value: workspaces.queryValue)) }")
                fan_out = "workspaces != nil"
            elif p.get("style") == "deepObject":
                args.append(f"{camel(p['name'])}: [String: String] = [:]")
                query_lines.append(f"for (field, value) in {camel(p['name'])}.sorted(by: {{ $0.key < $1.key }}) {{ "
                                   f"query.append(URLQueryItem(name: \"{p['name']}[\\(field)]\", value: value)) }}")
            else:
                swift = "Int" if p.get("schema", {}).get("type") == "integer" else "String"
                args.append(f"{camel(p['name'])}: {swift}? = nil")
                query_lines.append(f"if let {camel(p['name'])} {{ query.append(URLQueryItem(name: \"{p['name']}\", "
                                   f"value: String(describing: {camel(p['name'])}))) }}")
        if t["paginated"]:
            args.append("pageSize: Int? = nil")
        if t["conditional"]:
            args.append("ifMatch: ETag? = nil")
        args.append("options: RequestOptions = RequestOptions()")
        doc = op.get("summary") or op_id
        out.append(f"extension {namespace} {{")
        out.append(f"    /// {doc}.")
        out.append(f"    ///")
        out.append(f"    /// `{method.upper()} {path}` (`{op_id}`).")
        signature = ", ".join(args)
        query_decl = "var query: [URLQueryItem] = []" if query_lines else "let query: [URLQueryItem] = []"
        body_arg = "body" if body is not None else "nil as Empty?"
        if_match = "ifMatch" if t["conditional"] else "nil"
        if t["paginated"]:
            out.append(f"    public func {op_id}({signature}) -> Paginator<{result}> {{")
            out.append(f"        {query_decl}")
            out += [f"        {line}" for line in query_lines]
            out.append(f"        return client.paginate(Operations.{op_id}, path: \"{path_expr}\", query: query, "
                       f"pageSize: pageSize, fanOut: {fan_out}, options: options)")
        else:
            returns = {"void": "", "model": f" -> {result}", "list": f" -> [{result}]"}[kind]
            out.append(f"    @discardableResult" if kind != "void" else "    ")
            out[-1] = out[-1].rstrip()
            if not out[-1]:
                out.pop()
            out.append(f"    public func {op_id}({signature}) async throws{returns} {{")
            out.append(f"        {query_decl}")
            out += [f"        {line}" for line in query_lines]
            call = (f"Operations.{op_id}, path: \"{path_expr}\", query: query, body: {body_arg}, "
                    f"ifMatch: {if_match}, fanOut: {fan_out}, options: options")
            if kind == "void":
                out.append(f"        _ = try await client.send({call}) as Empty?")
            elif kind == "list":
                out.append(f"        let page: Page<{result}> = try await client.send({call})")
                out.append("        return page.data")
            else:
                out.append(f"        return try await client.send({call})")
        out.append("    }")
        out.append("}")
        out.append("")
    return out


HEADER = ["// Generated by scripts/gen_swift_client.py from GET /openapi.json ({title} {version}). Do not edit:",
          "// run `make client-generate`.",
          "import Foundation", ""]


def generate(document):
    info = document.get("info", {})
    header = [line.format(title=info.get("title", ""), version=info.get("version", "")) for line in HEADER]
    files = {}
    bodies = [ref_name(schema) for item in document["paths"].values() for method, op in item.items()
              if method in HTTP_METHODS
              for schema in [op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")]
              if schema and "$ref" in schema]
    files["Models.swift"] = header + Models(document["components"]["schemas"], bodies).render()
    codes = error_codes(document)
    lines = header + ["/// Every error code of the contract, as a value (`error.code`). An unknown code survives as",
                      "/// `ErrorCode(rawValue:)`, so an older client still reads a newer server's errors.",
                      "extension ErrorCode {"]
    for code in codes:
        lines.append(f"    public static let {camel(code.lower())} = ErrorCode(rawValue: \"{code}\")")
    lines += ["", "    /// The codes this SDK was generated with.", "    public static let known: [ErrorCode] = ["]
    lines += [f"        .{camel(code.lower())}," for code in codes]
    lines += ["    ]", "}", ""]
    files["ErrorCodes.swift"] = lines
    files["Operations.swift"] = header + render_operations(document)
    return {name: "\n".join(lines).rstrip("\n") + "\n" for name, lines in files.items()}


def from_binary(binary):
    """The document of a throw-away server started from `binary`."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from atrium_server import Server
    server = Server(binary)
    try:
        return load(server.base + "/openapi.json")
    finally:
        server.stop()


MAX_LINE = 120


def split_point(line, limit):
    """The index of the last ", " before `limit` outside a string literal, or None."""
    best = None
    quoted = False
    index = 0
    while index < min(len(line), limit):
        char = line[index]
        if char == "\\" and quoted:
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and line.startswith(", ", index) and index + 1 < limit:
            best = index
        index += 1
    return best


def wrap_line(line):
    """The project keeps lines of Sources/ to 120 characters: a long generated line is broken
    after a comma (outside string literals), its continuation indented 8 more; a long doc
    comment at a space."""
    if len(line) <= MAX_LINE:
        return [line]
    indent = line[:len(line) - len(line.lstrip())]
    stripped = line.lstrip()
    if stripped.startswith("///"):
        cut = line.rfind(" ", len(indent) + 4, MAX_LINE)
        if cut <= 0:
            return [line]
        return [line[:cut]] + wrap_line(indent + "/// " + line[cut + 1:])
    cut = split_point(line, MAX_LINE)
    if cut is None:
        return [line]
    continuation = indent + "        "
    return [line[:cut + 1]] + wrap_line(continuation + line[cut + 2:])


def wrap_text(text):
    return "\n".join(part for line in text.split("\n") for part in wrap_line(line))


def main():
    argv = sys.argv[1:]
    check = "--check" in argv
    binary = None
    if "--from-binary" in argv:
        index = argv.index("--from-binary")
        binary = argv[index + 1]
        del argv[index:index + 2]
    args = [a for a in argv if not a.startswith("--")]
    if binary:
        args.insert(0, binary)
    if not args:
        sys.exit(__doc__)
    out_dir = args[1] if len(args) > 1 else os.path.join(ROOT, "Sources", "AtriumClient", "Generated")
    files = {name: wrap_text(text) for name, text in
             generate(from_binary(binary) if binary else load(args[0])).items()}
    stale = []
    for name, text in files.items():
        target = os.path.join(out_dir, name)
        current = open(target).read() if os.path.exists(target) else None
        if current != text:
            stale.append(name)
            if not check:
                os.makedirs(out_dir, exist_ok=True)
                with open(target, "w") as f:
                    f.write(text)
    if check and stale:
        print(f"generated client is stale: {', '.join(stale)} differ from {args[0]}; "
              "run scripts/gen_swift_client.py and commit the result")
        sys.exit(1)
    print(("up to date: " if check else "wrote: ") + ", ".join(sorted(files)))


if __name__ == "__main__":
    main()
