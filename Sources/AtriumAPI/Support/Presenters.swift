import AtriumAuth
import AtriumJSON
import AtriumStore

/// The JSON shapes of the contract's objects, written in one place each.
enum Presenters {
    /// `{id, email, name, created_at}` (api.md §4).
    static func user(_ user: UserRow, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", user.id)
        writer.field("email", user.email)
        writer.field("name", user.name)
        writer.timeField("created_at", user.createdAt)
        writer.endObject()
    }

    /// `{id, name, is_main, color, owner_id, role, metadata, created_at, updated_at}`.
    static func workspace(_ row: WorkspaceRow, mainWorkspaceID: Int64?, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", row.id)
        writer.field("name", row.name)
        writer.field("is_main", row.id == mainWorkspaceID)
        writer.field("color", row.color)
        writer.field("owner_id", row.ownerID)
        writer.field("role", row.role?.rawValue)
        writer.key("metadata")
        writer.raw(row.metadata)
        writer.timeField("created_at", row.createdAt)
        writer.timeField("updated_at", row.updatedAt)
        writer.endObject()
    }

    /// The key object of api.md §5, plus `secret` when it is shown (once).
    static func apiKey(_ row: APIKeyRow, secret: String? = nil, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", row.id)
        writer.field("name", row.name)
        writer.field("mode", row.mode.rawValue)
        writer.field("prefix", row.prefix)
        if row.mode == .workspace { writer.field("workspace_id", row.workspaceID) }
        if row.mode == .scoped {
            writer.key("workspace_ids")
            writer.beginArray()
            for id in row.workspaceIDs { writer.int(id) }
            writer.endArray()
        }
        writer.key("permissions")
        if let permissions = row.permissions {
            writer.beginArray()
            for name in permissions { writer.string(name) }
            writer.endArray()
        } else {
            writer.null()
        }
        writer.field("created_by", row.userID)
        writer.timeField("created_at", row.createdAt)
        writer.timeField("last_used_at", row.lastUsedAt)
        writer.timeField("expires_at", row.expiresAt)
        if let secret { writer.field("secret", secret) }
        writer.endObject()
    }
}

extension Presenters {
    /// `{id, user_id, email, name, role, joined_at}`.
    static func member(_ row: MemberRow, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", row.id)
        writer.field("user_id", row.userID)
        writer.field("email", row.email)
        writer.field("name", row.name)
        writer.field("role", row.role.rawValue)
        writer.timeField("joined_at", row.joinedAt)
        writer.endObject()
    }

    /// `{id, workspace_id, email, role, status, token, expires_at, created_at}`.
    /// `token` only at invite and resend: the store keeps its hash alone (docs/security.md).
    static func invitation(_ row: InvitationRow, token: String? = nil, now: Int64, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", row.id)
        writer.field("workspace_id", row.workspaceID)
        writer.field("email", row.email)
        writer.field("role", row.role.rawValue)
        writer.field("status", row.visibleStatus(now: now).rawValue)
        if let token { writer.field("token", token) }
        writer.timeField("expires_at", row.expiresAt)
        writer.timeField("created_at", row.createdAt)
        writer.endObject()
    }

    /// `{id, action, actor: {user_id, credential, key_id?}, target, ip, created_at}`.
    static func audit(_ row: AuditRow, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("id", row.id)
        writer.field("action", row.action)
        writer.key("actor")
        writer.beginObject()
        writer.field("user_id", row.actor.userID)
        writer.field("credential", row.actor.credential)
        if let keyID = row.actor.keyID { writer.field("key_id", keyID) }
        writer.endObject()
        writer.key("target")
        writer.raw(row.target)
        writer.field("ip", row.actor.ip)
        writer.timeField("created_at", row.createdAt)
        writer.endObject()
    }

    /// A JSON object text from string/int pairs, for audit targets.
    static func target(_ fields: [(String, JSONValue)]) -> String {
        JSONValue.object(JSONObject(fields)).serializedString
    }

    /// `{"data": [...], "next_cursor": …}`.
    static func list<T>(_ items: some Sequence<T>, nextCursor: String? = nil, into writer: inout JSONWriter,
                        _ element: (T, inout JSONWriter) -> Void) {
        writer.beginObject()
        writer.key("data")
        writer.beginArray()
        for item in items { element(item, &writer) }
        writer.endArray()
        writer.field("next_cursor", nextCursor)
        writer.endObject()
    }
}
