import AtriumAuth
import AtriumJSON

/// The named schemas of the contract's objects (api.md §4–§6), matching what `Presenters` and
/// the handlers write. Endpoints refer to them by name.
enum Components {
    static let roles = ["owner", "admin", "editor", "viewer"]
    static let eventTypes = WebhookEndpoints.eventTypes
    static let permission = Schema.string(values: PermissionSet.named.map(\.name))
    static let nullableTime = Schema.nullable(.timestamp)
    static let color = Schema.string(pattern: "^#[0-9A-Fa-f]{6}$")

    static let all: [(String, Schema)] = [
        ("User", .record([("id", .id), ("email", .text), ("name", .text), ("created_at", .timestamp)])),
        ("Workspace", .record([
            ("id", .id), ("name", .text), ("is_main", .boolean), ("color", .nullable(color)), ("owner_id", .id),
            ("role", .string(values: roles)), ("metadata", .anyObject), ("created_at", .timestamp),
            ("updated_at", .timestamp),
        ])),
        ("WorkspaceCreate", .object([
            ("name", .string(minLength: 1, maxLength: 100)), ("color", .nullable(color)), ("metadata", .anyObject),
        ], required: ["name"])),
        ("WorkspaceUpdate", .object([
            ("name", .string(minLength: 1, maxLength: 100)), ("color", .nullable(color)), ("metadata", .anyObject),
        ])),
        ("Signup", .object([
            ("email", .string(format: "email", maxLength: 320)), ("password", .string(minLength: 8, maxLength: 256)),
            ("name", .string(minLength: 1, maxLength: 100)),
        ], required: ["email", "password", "name"])),
        ("Login", .object([("email", .string(maxLength: 320)), ("password", .string(maxLength: 256))],
                          required: ["email", "password"])),
        ("RefreshRequest", .object([("refresh_token", .string(minLength: 1, maxLength: 512))],
                                   required: ["refresh_token"])),
        ("Tokens", tokens([])),
        ("LoginResult", tokens([("user", .ref("User"))])),
        ("SignupResult", tokens([("user", .ref("User")), ("workspace", .ref("Workspace"))])),
        ("Me", .record([
            ("user", .ref("User")), ("workspaces", .array(.ref("Workspace"))),
            ("credential", .object([("type", .string(values: ["jwt", "api_key"])), ("key", .ref("APIKey"))],
                                   required: ["type"])),
        ])),
        ("MeUpdate", .object([("name", .string(minLength: 1, maxLength: 100)), ("main_workspace_id", .id)])),
        ("APIKey", apiKey(withSecret: false)),
        ("APIKeyWithSecret", apiKey(withSecret: true)),
        ("APIKeyCreate", .object([
            ("name", .string(minLength: 1, maxLength: 100)), ("mode", .string(values: ["full", "scoped"])),
            ("workspace_ids", .array(.id, maxItems: 1000)), ("permissions", .array(permission, maxItems: 32)),
            ("expires_at", nullableTime),
        ], required: ["name"])),
        ("APIKeyUpdate", .object([
            ("name", .string(minLength: 1, maxLength: 100)), ("mode", .string(values: ["full", "scoped"])),
            ("workspace_ids", .array(.id, maxItems: 1000)), ("permissions", .array(permission, maxItems: 32)),
            ("expires_at", nullableTime),
        ], required: ["name"])),
        ("WorkspaceKeyCreate", .object([
            ("name", .string(minLength: 1, maxLength: 100)), ("permissions", .array(permission, maxItems: 32)),
            ("expires_at", nullableTime),
        ], required: ["name"])),
        ("Member", .record([
            ("id", .id), ("user_id", .id), ("email", .text), ("name", .text), ("role", .string(values: roles)),
            ("joined_at", .timestamp),
        ])),
        ("RoleChange", .object([("role", .string(values: ["admin", "editor", "viewer"]))], required: ["role"])),
        ("OwnershipTransfer", .object([("user_id", .id)], required: ["user_id"])),
        ("Invitation", .record([
            ("id", .id), ("workspace_id", .id), ("email", .text), ("role", .string(values: roles)),
            ("status", .string(values: ["pending", "accepted", "revoked", "expired"])), ("token", .text),
            ("expires_at", .timestamp), ("created_at", .timestamp),
        ], optional: ["token"])),
        ("InvitationCreate", .object([
            ("email", .string(format: "email", maxLength: 320)),
            ("role", .string(values: ["admin", "editor", "viewer"])),
        ], required: ["email", "role"])),
        ("AcceptedInvitation", .record([("workspace", .ref("Workspace")), ("member", .ref("Member"))])),
        ("Usage", .record([
            ("records", .integer(minimum: 0)), ("members", .integer(minimum: 0)), ("api_keys", .integer(minimum: 0)),
            ("webhooks", .integer(minimum: 0)), ("requests_30d", .integer(minimum: 0)),
            ("storage_bytes", .integer(minimum: 0)),
        ])),
        ("Limits", .record([
            ("max_workspaces_per_user", .nullable(.integer(minimum: 1))),
            ("max_members_per_workspace", .nullable(.integer(minimum: 1))),
            ("invites_per_hour", .nullable(.integer(minimum: 1))),
        ])),
        ("Billing", .record([("owner_id", .id), ("plan", .text), ("limits", .ref("Limits")),
                             ("features", .array(.text))])),
        ("Account", .record([
            ("user_id", .id), ("plan", .text), ("limits", .ref("Limits")), ("features", .array(.text)),
            ("usage", .record([
                ("workspaces_owned", .integer(minimum: 0)), ("workspaces_joined", .integer(minimum: 0)),
                ("records", .integer(minimum: 0)), ("storage_bytes", .integer(minimum: 0)),
                ("requests_30d", .integer(minimum: 0)),
            ])),
        ])),
        ("AuditEntry", .record([
            ("id", .id), ("action", .text),
            ("actor", .object([("user_id", .nullable(.id)),
                               ("credential", .nullable(.string(values: ["jwt", "api_key"]))),
                               ("key_id", .id)], required: ["user_id", "credential"])),
            ("target", .anyObject), ("ip", .nullable(.text)), ("created_at", .timestamp),
        ])),
        ("Record", .record([
            ("id", .id), ("workspace_id", .id), ("collection", .text), ("data", .anyObject),
            ("version", .integer(minimum: 1)), ("created_by", .id), ("created_at", .timestamp),
            ("updated_at", .timestamp),
        ])),
        ("RecordData", .object([("data", .anyObject)], required: ["data"])),
        ("Webhook", webhook(withSecret: false)),
        ("WebhookWithSecret", webhook(withSecret: true)),
        ("WebhookCreate", .object([
            ("url", .string(format: "uri", maxLength: 2048)), ("description", .nullable(.string(maxLength: 500))),
            ("events", .array(.string(values: eventTypes + ["*"]), minItems: 1, maxItems: 16)),
            ("fields", .nullable(.array(.string(minLength: 1, maxLength: 255), maxItems: 100))), ("active", .boolean),
        ], required: ["url", "events"])),
        ("WebhookUpdate", .object([
            ("url", .string(format: "uri", maxLength: 2048)), ("description", .nullable(.string(maxLength: 500))),
            ("events", .array(.string(values: eventTypes + ["*"]), minItems: 1, maxItems: 16)),
            ("fields", .nullable(.array(.string(minLength: 1, maxLength: 255), maxItems: 100))), ("active", .boolean),
        ])),
        ("Delivery", .record([
            ("id", .id), ("webhook_id", .id), ("event_id", .string(pattern: "^evt_[0-9]+$")), ("event_type", .text),
            ("attempt", .integer(minimum: 1)), ("status", .string(values: ["pending", "succeeded", "failed"])),
            ("response_status", .nullable(.integer())), ("error", .nullable(.text)),
            ("duration_ms", .nullable(.integer(minimum: 0))), ("created_at", .timestamp),
            ("next_attempt_at", nullableTime),
        ])),
        ("Event", .record([
            ("id", .string(pattern: "^evt_[0-9]+$")), ("type", .string(values: eventTypes)), ("workspace_id", .id),
            ("created_at", .timestamp), ("data", .anyObject),
        ])),
        ("Status", .record([("status", .string(values: ["ok"]))])),
        ("Error", errorEnvelope(codes: nil)),
    ]

    static func tokens(_ extra: [(String, Schema)]) -> Schema {
        .record(extra + [("access_token", .text), ("refresh_token", .text), ("token_type", .string(values: ["Bearer"])),
                         ("expires_in", .integer(minimum: 1))])
    }

    static func apiKey(withSecret: Bool) -> Schema {
        var properties: [(String, Schema)] = [
            ("id", .id), ("name", .text), ("mode", .string(values: ["workspace", "full", "scoped"])), ("prefix", .text),
            ("workspace_id", .id), ("workspace_ids", .array(.id)), ("permissions", .nullable(.array(.text))),
            ("created_by", .id), ("created_at", .timestamp), ("last_used_at", nullableTime),
            ("expires_at", nullableTime),
        ]
        if withSecret { properties.append(("secret", .string(pattern: "^atr_"))) }
        return .record(properties, optional: ["workspace_id", "workspace_ids"])
    }

    static func webhook(withSecret: Bool) -> Schema {
        var properties: [(String, Schema)] = [
            ("id", .id), ("workspace_id", .id), ("url", .text), ("description", .nullable(.text)),
            ("events", .array(.text)), ("fields", .nullable(.array(.text))), ("active", .boolean),
            ("disabled_reason", .nullable(.text)), ("secret_rotated_at", nullableTime), ("created_at", .timestamp),
            ("updated_at", .timestamp),
        ]
        if withSecret { properties.append(("secret", .string(pattern: "^whsec_"))) }
        return .record(properties)
    }

    /// The error envelope of api.md §1; with `codes`, `error.code` is limited to them.
    static func errorEnvelope(codes: [String]?) -> Schema {
        .record([
            ("success", .constant(.bool(false))),
            ("error", .object([
                ("code", codes.map { .string(values: $0) } ?? .text), ("message", .text), ("request_id", .text),
                ("details", .array(.record([("field", .text), ("message", .text)]))),
            ], required: ["code", "message", "request_id"])),
        ])
    }
}
